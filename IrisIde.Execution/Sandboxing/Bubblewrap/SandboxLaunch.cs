using System.Diagnostics;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>A started sandbox (launcher → bwrap → init, or the launcher building it → init) and what it holds, before supervision begins.</summary>
internal sealed record SandboxLaunch(
    string RunId, Process Process, IRunCgroup Cgroup, SandboxUidLease? Uid, SandboxLimits Limits, RunStatusFiles Files)
{
    /// <summary>Gives init the command (the first bytes of the program's stdin).</summary>
    public async Task SendCommandAsync(byte[] command)
    {
        var stdin = Process.StandardInput.BaseStream;
        await stdin.WriteAsync(command);
        await stdin.FlushAsync();
    }

    /// <summary>Supervision from now on, timed by <paramref name="stopwatch"/>; <paramref name="mount"/> is released with the rest.</summary>
    public BubblewrapProcess Supervise(Stopwatch stopwatch, IDisposable? mount, ILogger logger, Action? released = null)
    {
        return new BubblewrapProcess(RunId, Process, Cgroup, Uid, Limits, Files, stopwatch, logger, mount) { Released = released };
    }
}
