using System.Diagnostics;
using System.Globalization;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using IrisIde.Execution.Sandboxing.Processes;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// One bubblewrap run: supervision, limits, teardown.
///
/// Process tree (host pids): launcher P (iris-launch → bwrap, one process thanks to exec) → our init
/// I (iris-launch as pid 1 of the sandbox's pid namespace) → program X (pid 2) → its descendants.
/// All of them are in the run's cgroup from P's first instruction, and run as the run's own uid.
///
/// The run ends when the program ends: I waits for X itself, writes how X ended (exit code or signal,
/// exactly) and exits, which kills the rest of the namespace, and P follows. Should the sandbox outlive
/// the program anyway (I is not dumpable and the seccomp filter denies ptrace, so nothing inside can
/// hold it), supervision ends it within a second of the program's end.
///
/// Supervision wakes at the wall-time limit, every 250 ms to see whether the program ended, and to
/// read the whole cgroup's CPU time (children included) as often as the remaining CPU time needs
/// (<see cref="CpuCheckDelay"/>: 100 ms near the limit, once a second far from it); a kernel that keeps
/// no peak memory for the cgroup has it sampled then. A limit or <see cref="Kill"/> ends the tree.
///
/// Teardown, in this order, so no process and no zombie survives:
/// 1. SIGKILL I. The kernel then kills every process of the pid namespace (daemons, setsid and
///    double-fork escapees included, they cannot leave the namespace) and P, still alive, reaps I.
///    Killing P first would orphan I to the host's init, which may never reap it.
/// 2. Wait for P to exit (SIGKILL it if it does not).
/// 3. Kill everything still in the cgroup until it is empty (covers a launcher killed before bwrap).
/// 4. Read the final usage (counters are complete only now) and complete; then, off the result's
///    path, remove the cgroup, detach a ready sandbox's workspace slot and release the uid
///    (<see cref="DisposeAsync"/> waits for that).
/// </summary>
internal sealed class BubblewrapProcess : ISandboxProcess
{
    private static readonly TimeSpan MinCpuCheckDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxCpuCheckDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProgramEndPollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LauncherExitTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan CgroupKillTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProgramEndGrace = TimeSpan.FromMilliseconds(750);

    private readonly string _runId;
    private readonly Process _process;
    private readonly IRunCgroup _cgroup;
    private readonly SandboxUidLease? _uid;
    private readonly SandboxLimits _limits;
    private readonly RunStatusFiles _files;
    private readonly Stopwatch _stopwatch;
    private readonly ILogger _logger;
    private readonly IDisposable? _mount;
    private readonly KillSwitch _kill = new();
    private Task _teardown = Task.CompletedTask;

    public BubblewrapProcess(
        string runId, Process process, IRunCgroup cgroup, SandboxUidLease? uid, SandboxLimits limits, RunStatusFiles files, Stopwatch stopwatch, ILogger logger,
        IDisposable? mount = null)
    {
        _mount = mount;
        _runId = runId;
        _process = process;
        _cgroup = cgroup;
        _uid = uid;
        _limits = limits;
        _files = files;
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

    /// <summary>Called once the run holds nothing any more (its cgroup removed, its uid free), before <see cref="DisposeAsync"/> returns.</summary>
    internal Action? Released { get; init; }

    /// <summary>Read from the run's cgroup now (missing files read as 0: the tree is going away).</summary>
    public SandboxUsage? ReadUsage()
    {
        if (Completion.IsCompleted)
        {
            return null;
        }

        try
        {
            return new SandboxUsage(_cgroup.ReadCpuTime(), _cgroup.ReadCurrentMemory());
        }
        catch (IOException)
        {
            return null;
        }
    }

    public void Kill(Verdict verdict, string? message = null)
    {
        if (!_kill.TryRequest(verdict, message))
        {
            return;
        }

        BubblewrapSandboxLog.Killing(_logger, _runId, verdict);
    }

    /// <summary>
    /// Delivers the signal to the program's process group, as a terminal's Ctrl+C would: bwrap's
    /// --new-session made the program (pid 2 inside) a session and group leader.
    /// </summary>
    public void Signal(int signal)
    {
        if (FindProgramPid() is not { } pid
            || (Interop.Kill(-pid, signal) != 0 && Interop.Kill(pid, signal) != 0))
        {
            BubblewrapSandboxLog.SignalNotDelivered(_logger, _runId, signal);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill(Verdict.Killed, "The run was ended.");
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(30));
            await _teardown.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            BubblewrapSandboxLog.KillTimedOut(_logger, _runId);
        }

        _process.Dispose();
    }

    private async Task<SandboxResult> SuperviseAsync()
    {
        var exited = _process.WaitForExitAsync(CancellationToken.None);
        var sampledPeak = 0L;
        TimeSpan? programEndedAt = null;
        // Nothing is used yet, so the quota cannot reach the limit before the whole of it has passed at
        // full speed: a short run never reads its CPU time before its end. Where the kernel keeps no
        // peak memory, the check samples it, so it comes early as before.
        var nextCpuCheck = _cgroup.RecordsPeakMemory ? CpuCheckDelay(_limits.CpuTime, _limits.CpuCores) : MinCpuCheckDelay;
        try
        {
            while (!exited.IsCompleted && !_kill.Requested.IsCompleted)
            {
                var now = _stopwatch.Elapsed;
                var wake = (programEndedAt is { } ended ? ended + ProgramEndGrace : Min(_limits.WallTime, Min(nextCpuCheck, now + ProgramEndPollInterval))) - now;
                await Task.WhenAny(exited, _kill.Requested, Task.Delay(wake > TimeSpan.Zero ? wake : TimeSpan.Zero));
                if (exited.IsCompleted || _kill.Requested.IsCompleted)
                {
                    break;
                }

                now = _stopwatch.Elapsed;
                if (programEndedAt is null && _files.ProgramEnded())
                {
                    programEndedAt = now;
                }

                if (programEndedAt is not null)
                {
                    // The program is over, whatever the clock says now: a program that ended just before
                    // its wall limit (seen only at this wake-up, on a loaded host) is not killed for it.
                    // What it left behind only gets the grace.
                    if (now - programEndedAt >= ProgramEndGrace)
                    {
                        BubblewrapSandboxLog.SandboxOutlivedProgram(_logger, _runId);
                        break;
                    }
                }
                else if (now >= _limits.WallTime)
                {
                    Kill(Verdict.TimeLimit, KillSwitch.WallTimeExceeded(_limits.WallTime));
                }
                else if (now >= nextCpuCheck)
                {
                    var cpu = _cgroup.ReadCpuTime();
                    if (cpu > _limits.CpuTime)
                    {
                        Kill(Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
                    }

                    nextCpuCheck = now + CpuCheckDelay(_limits.CpuTime - cpu, _limits.CpuCores);
                    if (!_cgroup.RecordsPeakMemory)
                    {
                        sampledPeak = Math.Max(sampledPeak, _cgroup.ReadCurrentMemory());
                    }
                }
            }

            _kill.MarkSupervisionOver();

            var (endedAt, killed) = await EndTreeAsync(exited);
            var wallTime = programEndedAt ?? endedAt;
            var status = _files.Read();

            // The launcher is gone, so whatever of its tree outlived it was handed to us (the subreaper):
            // its pid 1, or a bwrap child killed while the sandbox was still being set up.
            foreach (var orphan in killed.Append(status.InitPid ?? 0).Where(pid => pid > 0).Distinct())
            {
                await OrphanReaper.ReapAsync(orphan, TimeSpan.FromSeconds(2), CancellationToken.None);
            }

            if (_uid is not null && (_kill.Reason is not null || !status.ProgramEnded))
            {
                // Ended from outside or before its program: a child of bwrap may have been orphaned to us
                // unseen (its pid was never written anywhere); nothing of the run may stay a zombie.
                OrphanReaper.ReapZombieChildrenOf(_uid.Uid);
            }

            var usage = _cgroup.ReadUsage();
            var result = BuildResult(status, wallTime, usage with { PeakMemoryBytes = Math.Max(usage.PeakMemoryBytes, sampledPeak) });
            BubblewrapSandboxLog.RunEnded(_logger, _runId, result.Verdict, result.ExitCode, result.Signal,
                (long)result.WallTime.TotalMilliseconds, (long)result.CpuTime.TotalMilliseconds, result.PeakMemoryBytes);

            // Every process of the run is gone and its usage read: the rest is bookkeeping the result
            // need not wait for. DisposeAsync waits for it.
            _teardown = Task.Run(ReleaseAsync);
            return result;
        }
        catch (Exception exception)
        {
            BubblewrapSandboxLog.SupervisionFailed(_logger, _runId, exception);
            await _cgroup.KillAllAsync(CgroupKillTimeout, CancellationToken.None);
            _teardown = ReleaseAsync();
            return new SandboxResult(null, null, Verdict.InternalError, _stopwatch.Elapsed, TimeSpan.Zero, 0, "The sandbox failed.");
        }
    }

    /// <summary>
    /// How long until the run's CPU time is worth reading again. The cgroup's quota lets the run use at
    /// most <paramref name="cores"/> seconds of CPU per second of wall time, so with
    /// <paramref name="left"/> to go the limit cannot be crossed sooner than left / cores from now (less
    /// one poll of slack for the quota's per-period accounting). A run far from its limit, like a
    /// session waiting for input, is so looked at once a second instead of ten times; one near it every
    /// 100 ms as before.
    /// </summary>
    internal static TimeSpan CpuCheckDelay(TimeSpan left, double cores)
    {
        var earliest = left / Math.Max(cores, 0.001) - MinCpuCheckDelay;
        return earliest < MinCpuCheckDelay ? MinCpuCheckDelay : earliest > MaxCpuCheckDelay ? MaxCpuCheckDelay : earliest;
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    /// <summary>Removes the emptied cgroup, then frees the uid for the next run (only now is every process of it gone).</summary>
    private async Task ReleaseAsync()
    {
        try
        {
            if (!await _cgroup.DeleteAsync(CancellationToken.None))
            {
                BubblewrapSandboxLog.CgroupNotRemoved(_logger, _runId);
            }

            _files.Delete();
            _mount?.Dispose();
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            BubblewrapSandboxLog.SupervisionFailed(_logger, _runId, exception);
        }
        finally
        {
            _uid?.Dispose();
            Released?.Invoke();
        }
    }

    /// <summary>Ends every process of the run (see the type's comment); returns the wall time at exit and the launcher's children it killed.</summary>
    private async Task<(TimeSpan WallTime, int[] Killed)> EndTreeAsync(Task exited)
    {
        int[] children = [];
        if (!exited.IsCompleted)
        {
            children = [.. _cgroup.ReadProcesses().Where(pid => ParentPid(pid) == _process.Id)];
            foreach (var pid in children)
            {
                _ = Interop.Kill(pid, Interop.SIGKILL);
            }

            if (children.Length == 0 || !await CompletesWithinAsync(exited, LauncherExitTimeout))
            {
                // No init yet (bwrap not started) or the launcher did not follow: kill it directly.
                _process.Kill();
                await CompletesWithinAsync(exited, LauncherExitTimeout);
            }
        }

        var wallTime = _stopwatch.Elapsed;
        if (!await _cgroup.KillAllAsync(CgroupKillTimeout, CancellationToken.None))
        {
            BubblewrapSandboxLog.KillTimedOut(_logger, _runId);
        }

        return (wallTime, children);
    }

    private SandboxResult BuildResult(RunStatus status, TimeSpan wallTime, CgroupUsage usage)
    {
        var programStarted = status.InitPid is not null;
        var raw = status.BwrapExitCode ?? (_process.HasExited ? _process.ExitCode : 128 + Interop.SIGKILL);

        // Exact from our init; without it (the run was killed first) bwrap's code, where a signal n
        // and an exit code 128 + n look alike.
        var (exitCode, signal) = status.ProgramEnded ? (status.ExitCode, status.Signal)
            : raw is > 128 and <= 128 + 64 ? ((int?)null, (int?)(raw - 128))
            : (raw, null);

        var killed = _kill.Reason;
        var outcome = killed ?? default;
        if (killed is null)
        {
            if (!programStarted || (!status.ProgramEnded && usage.OomKills == 0))
            {
                // bwrap reports its child before that child sets the sandbox up (mounts, /proc): a set-up that fails
                // there (an engine that forbids mounting proc, say) ends bwrap before our init ever ran, so no end of
                // the program was written. Nothing of the user's ran: the sandbox failed, not the program.
                BubblewrapSandboxLog.SandboxSetupFailed(_logger, _runId, raw);
                (exitCode, signal) = (null, null);
                outcome = (Verdict.InternalError, string.Create(CultureInfo.InvariantCulture, $"The sandbox could not start the program (launcher exit {raw})."));
            }
            else if (usage.OomKills > 0)
            {
                // Killed for memory without reaching its own limit: all runs together filled the
                // shared parent (or the host ran out), and the kernel chose this run.
                outcome = (Verdict.MemoryLimit, usage.OwnMemoryLimitHits > 0
                    ? KillSwitch.MemoryExceeded(_limits.MemoryBytes)
                    : RunCapacity.ServerFullMessage);
            }
            else if (signal == Interop.SIGXCPU || usage.CpuTime > _limits.CpuTime)
            {
                outcome = (Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
            }
            else if (exitCode == 0)
            {
                outcome = (Verdict.Ok, null);
            }
            else
            {
                outcome = (Verdict.RuntimeError, signal switch
                {
                    Interop.SIGXFSZ => string.Create(CultureInfo.InvariantCulture, $"File size limit of {_limits.MaxFileSizeBytes} bytes exceeded."),
                    _ when usage.ProcessLimitHits > 0 => string.Create(CultureInfo.InvariantCulture, $"Process limit of {_limits.MaxProcesses} reached."),
                    { } n => string.Create(CultureInfo.InvariantCulture, $"Ended by signal {n}."),
                    null => null,
                });
            }
        }

        return new SandboxResult(exitCode, signal, outcome.Verdict, wallTime, usage.CpuTime, usage.PeakMemoryBytes, outcome.Message);
    }

    /// <summary>The program's host pid: the process of the run that is pid 2 in the sandbox's pid namespace.</summary>
    private int? FindProgramPid()
    {
        foreach (var pid in _cgroup.ReadProcesses())
        {
            try
            {
                var nsPid = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("NSpid:", StringComparison.Ordinal));
                var fields = nsPid?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                if (fields is { Length: 3 } && fields[2] == "2")
                {
                    return pid;
                }
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                // Exited while we looked.
            }
        }

        return null;
    }

    private static int? ParentPid(int pid)
    {
        try
        {
            // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static async Task<bool> CompletesWithinAsync(Task task, TimeSpan timeout)
    {
        try
        {
            await task.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
