using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// One bare-process run. The program leads its own session and process group (pgid = its pid), so
/// the whole group is signalled and killed together. Usage is sampled from /proc every 100 ms (the
/// program's own plus its waited-for children's CPU, its peak RSS), so it is approximate: there is
/// no cgroup here. Teardown SIGKILLs the group until no member is left; processes that left the
/// group with setsid are the pod's to contain.
/// </summary>
internal sealed class ProcessSandboxProcess : ISandboxProcess
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private const double ClockTicksPerSecond = 100; // USER_HZ is 100 on every Linux ABI.

    private readonly string _runId;
    private readonly Process _process;
    private readonly SandboxLimits _limits;
    private readonly Stopwatch _stopwatch;
    private readonly ILogger _logger;
    private readonly KillSwitch _kill = new();
    private TimeSpan _cpu;
    private long _peak;

    public ProcessSandboxProcess(string runId, Process process, SandboxLimits limits, Stopwatch stopwatch, ILogger logger)
    {
        _runId = runId;
        _process = process;
        _limits = limits;
        _stopwatch = stopwatch;
        _logger = logger;
        StandardInput = process.StandardInput.BaseStream;
        StandardOutput = process.StandardOutput.BaseStream;
        StandardError = process.StandardError.BaseStream;
        Completion = Task.Run(SuperviseAsync);
    }

    public Stream StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    public Task<SandboxResult> Completion { get; }

    public void Kill(Verdict verdict, string? message = null) => _kill.TryRequest(verdict, message);

    /// <summary>As last sampled by the supervision loop (every 100 ms): CPU time and the peak resident memory.</summary>
    public SandboxUsage? ReadUsage() => Completion.IsCompleted ? null : new SandboxUsage(_cpu, Interlocked.Read(ref _peak));

    public void Signal(int signal)
    {
        if (Interop.Kill(-_process.Id, signal) != 0)
        {
            _ = Interop.Kill(_process.Id, signal);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill(Verdict.Killed, "The run was ended.");
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            // Logged by nobody else; the group kill loop gave up.
        }

        _process.Dispose();
    }

    private async Task<SandboxResult> SuperviseAsync()
    {
        var exited = _process.WaitForExitAsync(CancellationToken.None);
        while (!exited.IsCompleted && !_kill.Requested.IsCompleted)
        {
            await Task.WhenAny(exited, _kill.Requested, Task.Delay(PollInterval));
            if (exited.IsCompleted || _kill.Requested.IsCompleted)
            {
                break;
            }

            Sample();
            if (_stopwatch.Elapsed >= _limits.WallTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.WallTimeExceeded(_limits.WallTime));
            }
            else if (_cpu > _limits.CpuTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
            }
        }

        _kill.MarkSupervisionOver();

        if (!exited.IsCompleted)
        {
            _ = Interop.Kill(-_process.Id, Interop.SIGKILL);
            _process.Kill();
            await exited;
        }

        var wallTime = _stopwatch.Elapsed;
        await KillGroupAsync(_process.Id);

        var raw = _process.ExitCode;
        int? exitCode = raw;
        int? signal = null;
        if (raw is > 128 and <= 128 + 64)
        {
            signal = raw - 128;
            exitCode = null;
        }

        var outcome = _kill.Reason ?? (signal == Interop.SIGXCPU || _cpu > _limits.CpuTime
            ? (Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime))
            : exitCode == 0 ? (Verdict.Ok, null)
            : (Verdict.RuntimeError, signal == Interop.SIGXFSZ ? "File size limit exceeded." : null));
        ProcessSandboxLog.RunEnded(_logger, _runId, outcome.Item1, exitCode, signal);
        return new SandboxResult(exitCode, signal, outcome.Item1, wallTime, _cpu, _peak, outcome.Item2);
    }

    /// <summary>
    /// SIGKILLs the process group until the kernel reports no member left (ESRCH). Members whose
    /// parent died are re-parented to us when we are a subreaper (or pid 1 of the pod): they stay
    /// zombies, and group members, until reaped, so each pass reaps them by pid.
    /// </summary>
    private async Task KillGroupAsync(int processGroup)
    {
        var seen = new HashSet<int>();
        for (var attempt = 0; attempt < 500; attempt++)
        {
            var members = GroupMembers(processGroup);
            members.Remove(_process.Id);
            seen.UnionWith(members);
            if (Interop.Kill(-processGroup, Interop.SIGKILL) != 0 && Marshal.GetLastPInvokeError() == Interop.ESRCH)
            {
                break;
            }

            foreach (var pid in members)
            {
                OrphanReaper.TryReap(pid);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10));
        }

        // A group of zombies only can already answer ESRCH: reap whatever of it was re-parented to us.
        foreach (var pid in seen)
        {
            await OrphanReaper.ReapAsync(pid, TimeSpan.FromMilliseconds(500), CancellationToken.None);
        }
    }

    private static List<int> GroupMembers(int processGroup)
    {
        var members = new List<int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (int.Parse(fields[2], CultureInfo.InvariantCulture) == processGroup)
                {
                    members.Add(pid);
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
            {
                // Exited while we looked.
            }
        }

        return members;
    }

    private void Sample()
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{_process.Id}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');

            // Fields 14-17 of stat (utime, stime, cutime, cstime) are 11-14 after "pid (comm) ".
            var ticks = 0L;
            for (var i = 11; i <= 14; i++)
            {
                ticks += long.Parse(fields[i], CultureInfo.InvariantCulture);
            }

            _cpu = TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
            var hwm = File.ReadLines($"/proc/{_process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            if (hwm is not null)
            {
                _peak = Math.Max(_peak, 1024 * long.Parse(hwm[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            // The process is exiting.
        }
    }
}
