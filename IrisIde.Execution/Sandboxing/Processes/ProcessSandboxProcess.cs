using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// One bare-process run under its supervisor (<c>iris-launch supervise</c>): the supervisor is the child subreaper of
/// the run, so everything the program starts stays under it, a child that left the program's session with setsid
/// included; when the program ends (or the run is ended) the supervisor kills and reaps all of it before it exits, so
/// nothing of the run outlives it or holds its output open. Usage is sampled from /proc every 100 ms over the whole
/// tree (CPU of the living and the reaped, proportional resident memory), so it is approximate: there is no cgroup
/// here. Over the memory limit the run is ended with <see cref="Verdict.MemoryLimit"/>; a program the container's own
/// OOM killer took between two samples gets the same verdict.
/// </summary>
internal sealed class ProcessSandboxProcess : ISandboxProcess
{
    /// <summary>The real-time signal that asks the supervisor to end the run (<c>IRIS_END_RUN_SIGNAL</c> in iris-launch.c).</summary>
    internal const int EndRunSignal = 40;

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>How long the supervisor gets to kill and reap the run before it is killed itself.</summary>
    private static readonly TimeSpan EndGrace = TimeSpan.FromSeconds(10);

    private const double ClockTicksPerSecond = 100; // USER_HZ is 100 on every Linux ABI.

    private readonly string _runId;
    private readonly Process _supervisor;
    private readonly SandboxLimits _limits;
    private readonly Stopwatch _stopwatch;
    private readonly ILogger _logger;
    private readonly KillSwitch _kill = new();
    private readonly long? _oomKillsBefore = ContainerMemoryEvents.ReadOomKills();
    private TimeSpan _cpu;
    private long _peak;

    public ProcessSandboxProcess(string runId, Process supervisor, SandboxLimits limits, Stopwatch stopwatch, ILogger logger)
    {
        _runId = runId;
        _supervisor = supervisor;
        _limits = limits;
        _stopwatch = stopwatch;
        _logger = logger;
        StandardInput = supervisor.StandardInput.BaseStream;
        StandardOutput = supervisor.StandardOutput.BaseStream;
        StandardError = supervisor.StandardError.BaseStream;
        Completion = Task.Run(SuperviseAsync);
    }

    public Stream StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    public Task<SandboxResult> Completion { get; }

    public void Kill(Verdict verdict, string? message = null) => _kill.TryRequest(verdict, message);

    /// <summary>As last sampled by the supervision loop (every 100 ms): CPU time and the peak resident memory.</summary>
    public SandboxUsage? ReadUsage() => Completion.IsCompleted ? null : new SandboxUsage(_cpu, Interlocked.Read(ref _peak));

    /// <summary>
    /// The supervisor passes every signal it can catch on to the program's process group. SIGKILL cannot be caught:
    /// for it the supervisor is asked to end the run, which kills the program and everything under it.
    /// </summary>
    public void Signal(int signal)
    {
        if (!Completion.IsCompleted)
        {
            _ = Interop.Kill(_supervisor.Id, signal == Interop.SIGKILL ? EndRunSignal : signal);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill(Verdict.Killed, "The run was ended.");
        try
        {
            await Completion.WaitAsync(EndGrace + TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // The supervisor was killed after its grace; nothing else to wait for.
        }

        _supervisor.Dispose();
    }

    private async Task<SandboxResult> SuperviseAsync()
    {
        var exited = _supervisor.WaitForExitAsync(CancellationToken.None);
        while (!exited.IsCompleted && !_kill.Requested.IsCompleted)
        {
            await Task.WhenAny(exited, _kill.Requested, Task.Delay(PollInterval));
            if (exited.IsCompleted || _kill.Requested.IsCompleted)
            {
                break;
            }

            var resident = Sample();
            if (_stopwatch.Elapsed >= _limits.WallTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.WallTimeExceeded(_limits.WallTime));
            }
            else if (_cpu > _limits.CpuTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
            }
            else if (resident > _limits.MemoryBytes)
            {
                Kill(Verdict.MemoryLimit, KillSwitch.MemoryExceeded(_limits.MemoryBytes));
            }
        }

        _kill.MarkSupervisionOver();

        if (!exited.IsCompleted)
        {
            _ = Interop.Kill(_supervisor.Id, EndRunSignal);
            if (await Task.WhenAny(exited, Task.Delay(EndGrace)) != exited)
            {
                _supervisor.Kill();
                await exited;
            }
        }

        var wallTime = _stopwatch.Elapsed;
        var raw = _supervisor.ExitCode;
        int? exitCode = raw;
        int? signal = null;
        if (raw is > 128 and <= 128 + 64)
        {
            signal = raw - 128;
            exitCode = null;
        }

        var outcome = _kill.Reason ?? (
            signal == Interop.SIGKILL && ContainerMemoryEvents.ReadOomKills() > _oomKillsBefore
                ? (Verdict.MemoryLimit, KillSwitch.MemoryExceeded(_limits.MemoryBytes))
            : signal == Interop.SIGXCPU || _cpu > _limits.CpuTime
                ? (Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime))
            : exitCode == 0 ? (Verdict.Ok, null)
            : (Verdict.RuntimeError, signal == Interop.SIGXFSZ ? "File size limit exceeded." : null));
        ProcessSandboxLog.RunEnded(_logger, _runId, outcome.Item1, exitCode, signal);
        return new SandboxResult(exitCode, signal, outcome.Item1, wallTime, _cpu, _peak, outcome.Item2);
    }

    /// <summary>
    /// Walks the run's tree below the supervisor: CPU is each living process's own and reaped children's time plus what
    /// the supervisor reaped; memory is the sum of proportional resident sizes (shared pages counted once overall, so a
    /// program that forks is not charged for its children's shared copies). Returns that sum.
    /// </summary>
    private long Sample()
    {
        var root = _supervisor.Id;
        if (!ProcessTree.TryReadTicks(root, out _, out var ticks))
        {
            return 0;
        }

        long resident = 0;
        foreach (var pid in ProcessTree.Descendants(root))
        {
            if (ProcessTree.TryReadTicks(pid, out var own, out var reaped))
            {
                ticks += own + reaped;
                resident += ProcessTree.ProportionalResidentBytes(pid);
            }
        }

        _cpu = TimeSpan.FromSeconds(ticks / ClockTicksPerSecond);
        if (resident > Interlocked.Read(ref _peak))
        {
            Interlocked.Exchange(ref _peak, resident);
        }

        return resident;
    }
}
