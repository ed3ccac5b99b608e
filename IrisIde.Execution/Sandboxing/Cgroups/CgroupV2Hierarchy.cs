using System.Globalization;
using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>
/// cgroup v2: runs live in &lt;own cgroup&gt;/&lt;parent&gt;/&lt;run&gt;. Before the first run the memory, pids
/// and cpu controllers are enabled down to the parent. v2 forbids enabling controllers for children of
/// a cgroup that itself holds processes ("no internal processes"), which is exactly the situation of a
/// host process that is the only thing in its container: the write fails with EBUSY, so the existing
/// processes are moved into a leaf "init" child first and the write is repeated. The parent's
/// memory.max and pids.max hold all runs together.
/// </summary>
internal sealed class CgroupV2Hierarchy(string ownDirectory, string parentName, RunCapacity capacity, ICgroupFileSystem fileSystem, ILogger logger)
    : ICgroupHierarchy
{
    internal static readonly IReadOnlyList<string> Controllers = ["memory", "pids", "cpu"];

    private static readonly TimeSpan LeftoverKillTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _prepareLock = new();
    private bool _prepared;
    private bool _warnedAboutSwap;

    public CgroupVersion Version => CgroupVersion.V2;

    public string ParentPath { get; } = Path.Combine(ownDirectory, parentName);

    public void PrepareParent() => EnsurePrepared();

    public IRunCgroup CreateRun(string name, SandboxLimits limits)
    {
        EnsurePrepared();
        var run = new CgroupV2RunCgroup(name, Path.Combine(ParentPath, name), fileSystem, logger);
        try
        {
            if (!run.Create(limits) && !_warnedAboutSwap)
            {
                _warnedAboutSwap = true;
                CgroupLog.NoSwapAccounting(logger, ParentPath);
            }
        }
        catch
        {
            _ = run.DeleteAsync(CancellationToken.None);
            throw;
        }

        return run;
    }

    public async Task<int> ReleaseLeftoverRunsAsync(CancellationToken cancellationToken)
    {
        var released = ReleaseFrozenRuns();
        var leftovers = fileSystem.EnumerateDirectories(ParentPath).Where(run => RunCgroupName.OwnerIsGone(Path.GetFileName(run))).ToArray();
        foreach (var directory in leftovers)
        {
            var run = new CgroupV2RunCgroup(Path.GetFileName(directory), directory, fileSystem, logger);
            var processes = run.ReadProcesses().Count;
            await run.KillAllAsync(LeftoverKillTimeout, cancellationToken);
            await run.DeleteAsync(cancellationToken);
            CgroupLog.RemovedLeftoverRun(logger, directory, processes);
            released++;
        }

        return released;
    }

    public int ReleaseFrozenRuns() =>
        CgroupProcesses.ReleaseFrozenRuns(
            fileSystem,
            ParentPath,
            run => fileSystem.FileExists(Path.Combine(run, "cgroup.freeze")) && fileSystem.ReadAllText(Path.Combine(run, "cgroup.freeze")).Trim() == "1",
            run => fileSystem.Write(Path.Combine(run, "cgroup.freeze"), "0"),
            logger);

    private void EnsurePrepared()
    {
        lock (_prepareLock)
        {
            if (_prepared)
            {
                return;
            }

            EnableControllers(ownDirectory, moveProcessesWhenBusy: true);
            fileSystem.CreateDirectory(ParentPath);
            WriteParentLimit("memory.max", capacity.MemoryBytes);
            WriteParentLimit("pids.max", capacity.MaxProcesses);
            EnableControllers(ParentPath, moveProcessesWhenBusy: false);
            _prepared = true;
            CgroupLog.HierarchyReady(logger, CgroupVersion.V2, ParentPath);
            CgroupLog.ParentLimited(logger, ParentPath, capacity.MemoryBytes, capacity.MaxProcesses);
        }
    }

    private void WriteParentLimit(string file, long value)
    {
        try
        {
            fileSystem.Write(Path.Combine(ParentPath, file), value.ToString(CultureInfo.InvariantCulture));
        }
        catch (IOException exception)
        {
            throw new InvalidOperationException(
                string.Create(CultureInfo.InvariantCulture, $"Could not set {file} = {value} on the runs' parent cgroup {ParentPath}."), exception);
        }
    }

    private void EnableControllers(string directory, bool moveProcessesWhenBusy)
    {
        var subtreeControl = Path.Combine(directory, "cgroup.subtree_control");
        var enabled = fileSystem.FileExists(subtreeControl)
            ? fileSystem.ReadAllText(subtreeControl).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            : [];
        var missing = Controllers.Where(c => !enabled.Contains(c)).ToArray();
        if (missing.Length == 0)
        {
            return;
        }

        var value = string.Join(' ', missing.Select(c => "+" + c));
        try
        {
            fileSystem.Write(subtreeControl, value);
        }
        catch (IOException exception) when (moveProcessesWhenBusy && CgroupProcesses.IsBusy(exception))
        {
            MoveProcessesToInitLeaf(directory);
            fileSystem.Write(subtreeControl, value);
        }
        catch (IOException exception)
        {
            throw new InvalidOperationException(
                $"Could not enable the {value} cgroup controllers in {directory}; is the cgroup delegated to this process?", exception);
        }
    }

    private void MoveProcessesToInitLeaf(string directory)
    {
        var init = Path.Combine(directory, "init");
        fileSystem.CreateDirectory(init);
        var initProcs = Path.Combine(init, "cgroup.procs");
        var moved = 0;

        // A few passes: processes (our own threads' forks included) can appear while we move.
        for (var pass = 0; pass < 3; pass++)
        {
            var pids = CgroupProcesses.Parse(fileSystem.ReadAllText(Path.Combine(directory, "cgroup.procs")));
            if (pids.Count == 0)
            {
                break;
            }

            foreach (var pid in pids)
            {
                try
                {
                    fileSystem.Write(initProcs, pid.ToString(CultureInfo.InvariantCulture));
                    moved++;
                }
                catch (IOException)
                {
                    // The process exited in the meantime.
                }
            }
        }

        CgroupLog.MovedProcessesToInitLeaf(logger, moved, directory);
    }
}

/// <summary>
/// Teardown design: cgroup.kill (Linux 5.14+) SIGKILLs every process in the cgroup atomically, forks
/// in flight included. Older kernels freeze (cgroup.freeze), SIGKILL each pid and thaw. Either way the
/// kill loop then repeats until cgroup.procs is empty, and only then is the directory removed.
/// </summary>
internal sealed class CgroupV2RunCgroup(string name, string directory, ICgroupFileSystem fileSystem, ILogger logger) : IRunCgroup
{
    public string Name => name;

    private bool? _recordsPeakMemory;

    public CgroupVersion Version => CgroupVersion.V2;

    public IReadOnlyList<string> ProcessFiles { get; } = [Path.Combine(directory, "cgroup.procs")];

    private string File(string name) => Path.Combine(directory, name);

    /// <summary>Creates the cgroup and writes the limits; false when swap cannot be limited.</summary>
    internal bool Create(SandboxLimits limits)
    {
        fileSystem.CreateDirectory(directory);
        fileSystem.Write(File("memory.max"), limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
        var swapLimited = fileSystem.FileExists(File("memory.swap.max"));
        if (swapLimited)
        {
            fileSystem.Write(File("memory.swap.max"), "0");
        }

        fileSystem.Write(File("pids.max"), limits.MaxProcesses.ToString(CultureInfo.InvariantCulture));
        fileSystem.Write(File("cpu.max"), string.Create(
            CultureInfo.InvariantCulture, $"{CpuQuota.QuotaMicroseconds(limits.CpuCores)} {CpuQuota.PeriodMicroseconds}"));
        return swapLimited;
    }

    public void AddProcess(int pid) => fileSystem.Write(ProcessFiles[0], pid.ToString(CultureInfo.InvariantCulture));

    public void SetBackground(bool background) => fileSystem.Write(File("cpu.weight"), background ? "1" : "100");

    public IReadOnlyList<int> ReadProcesses() =>
        fileSystem.TryReadAllText(ProcessFiles[0]) is { } text ? CgroupProcesses.Parse(text) : [];

    public TimeSpan ReadCpuTime() =>
        TimeSpan.FromMicroseconds(CgroupProcesses.ReadKeyedValue(fileSystem, File("cpu.stat"), "usage_usec"));

    /// <remarks>
    /// memory.events counts "oom" at the cgroup whose limit was hit (and its ancestors), "oom_kill" at
    /// the cgroup of the process killed: a run killed because its parent was full has oom_kill but no oom.
    /// </remarks>
    public bool RecordsPeakMemory => _recordsPeakMemory ??= fileSystem.FileExists(File("memory.peak"));

    public long ReadCurrentMemory() => CgroupProcesses.ReadNumber(fileSystem, File("memory.current"));

    public CgroupUsage ReadUsage() => new(
        ReadCpuTime(),
        CgroupProcesses.ReadNumber(fileSystem, File("memory.peak")),
        ReadCurrentMemory(),
        CgroupProcesses.ReadKeyedValue(fileSystem, File("memory.events"), "oom_kill"),
        CgroupProcesses.ReadKeyedValue(fileSystem, File("pids.events"), "max"),
        CgroupProcesses.ReadKeyedValue(fileSystem, File("memory.events"), "oom"));

    public async Task<bool> KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!TryWrite(File("cgroup.kill"), "1") && TryWrite(File("cgroup.freeze"), "1"))
        {
            try
            {
                await WaitFrozenAsync(cancellationToken);
                foreach (var pid in ReadProcesses())
                {
                    _ = Interop.Kill(pid, Interop.SIGKILL);
                }
            }
            finally
            {
                TryWrite(File("cgroup.freeze"), "0");
            }
        }

        return await CgroupProcesses.KillUntilEmptyAsync(ReadProcesses, timeout, cancellationToken);
    }

    private async Task WaitFrozenAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (CgroupProcesses.ReadKeyedValue(fileSystem, File("cgroup.events"), "frozen") == 1)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
        }

        CgroupLog.FreezeTimedOut(logger, directory);
    }

    public Task<bool> DeleteAsync(CancellationToken cancellationToken) =>
        CgroupProcesses.DeleteDirectoryAsync(fileSystem, directory, cancellationToken);

    private bool TryWrite(string path, string value)
    {
        if (!fileSystem.FileExists(path))
        {
            return false;
        }

        try
        {
            fileSystem.Write(path, value);
            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            CgroupLog.OptionalWriteFailed(logger, path, exception);
            return false;
        }
    }
}
