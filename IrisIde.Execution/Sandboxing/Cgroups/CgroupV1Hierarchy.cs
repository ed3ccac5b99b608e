using System.Globalization;
using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>
/// cgroup v1: one directory per run in each needed hierarchy (memory, pids, cpu, cpuacct and, when
/// mounted, freezer), below a parent of the same name in each. Co-mounted controllers ("cpu,cpuacct")
/// share one directory. The parent's memory and pids limits hold all runs together.
/// </summary>
internal sealed class CgroupV1Hierarchy(
    IReadOnlyDictionary<string, string> controllerDirectories,
    string parentName,
    RunCapacity capacity,
    ICgroupFileSystem fileSystem,
    ILogger logger)
    : ICgroupHierarchy
{
    private static readonly string[] UsedControllers = ["memory", "pids", "cpu", "cpuacct", "freezer"];

    private static readonly TimeSpan LeftoverKillTimeout = TimeSpan.FromSeconds(10);

    private bool _warnedAboutSwap;

    public CgroupVersion Version => CgroupVersion.V1;

    public string ParentPath => Path.Combine(controllerDirectories.GetValueOrDefault("memory") ?? controllerDirectories.Values.First(), parentName);

    private IEnumerable<string> ParentDirectories => controllerDirectories
        .Where(pair => UsedControllers.Contains(pair.Key))
        .Select(pair => Path.Combine(pair.Value, parentName))
        .Distinct(StringComparer.Ordinal);

    public void PrepareParent()
    {
        foreach (var directory in ParentDirectories)
        {
            fileSystem.CreateDirectory(directory);
        }

        if (controllerDirectories.TryGetValue("memory", out var memoryRoot))
        {
            var memory = Path.Combine(memoryRoot, parentName);

            // Kernels before 5.16 let a cgroup opt out of hierarchical accounting; the parent's limit
            // would then not cover its runs at all. It can only be switched on while it has no children.
            var useHierarchy = Path.Combine(memory, "memory.use_hierarchy");
            if (fileSystem.FileExists(useHierarchy) && fileSystem.ReadAllText(useHierarchy).Trim() == "0")
            {
                fileSystem.Write(useHierarchy, "1");
            }

            WriteMemoryLimit(memory, capacity.MemoryBytes);
        }

        if (controllerDirectories.TryGetValue("pids", out var pidsRoot))
        {
            fileSystem.Write(Path.Combine(pidsRoot, parentName, "pids.max"), capacity.MaxProcesses.ToString(CultureInfo.InvariantCulture));
        }

        CgroupLog.ParentLimited(logger, ParentPath, capacity.MemoryBytes, capacity.MaxProcesses);
    }

    /// <summary>
    /// memory.memsw.limit_in_bytes (memory + swap) must never be below memory.limit_in_bytes, so when a
    /// reused parent's limit goes up, memsw is raised first; when it goes down, memory is lowered first.
    /// </summary>
    private void WriteMemoryLimit(string directory, long bytes)
    {
        var value = bytes.ToString(CultureInfo.InvariantCulture);
        var limit = Path.Combine(directory, "memory.limit_in_bytes");
        var memsw = Path.Combine(directory, "memory.memsw.limit_in_bytes");
        if (!fileSystem.FileExists(memsw))
        {
            fileSystem.Write(limit, value);
            return;
        }

        var raising = CgroupProcesses.ReadNumber(fileSystem, limit) is var current && (current == 0 || bytes > current);
        try
        {
            if (raising)
            {
                fileSystem.Write(memsw, value);
                fileSystem.Write(limit, value);
            }
            else
            {
                fileSystem.Write(limit, value);
                fileSystem.Write(memsw, value);
            }
        }
        catch (IOException exception)
        {
            throw new InvalidOperationException(
                $"Could not limit the runs' parent cgroup {directory} to {value} bytes (are runs of another server using more?).", exception);
        }
    }

    public IRunCgroup CreateRun(string name, SandboxLimits limits)
    {
        foreach (var required in CgroupLayout.RequiredV1Controllers)
        {
            if (!controllerDirectories.ContainsKey(required))
            {
                throw new NotSupportedException($"The cgroup v1 controller '{required}' is not mounted.");
            }
        }

        var run = OpenRun(name);
        try
        {
            run.Create(limits, ref _warnedAboutSwap);
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
        var leftovers = ParentDirectories
            .SelectMany(fileSystem.EnumerateDirectories)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)
            .Where(RunCgroupName.OwnerIsGone)
            .ToArray();
        foreach (var name in leftovers)
        {
            var run = OpenRun(name);
            var processes = run.ReadProcesses().Count;
            await run.KillAllAsync(LeftoverKillTimeout, cancellationToken);
            await run.DeleteAsync(cancellationToken);
            CgroupLog.RemovedLeftoverRun(logger, Path.Combine(ParentPath, name), processes);
            released++;
        }

        return released;
    }

    // Only the controllers we use: joining e.g. cpuset would need its cpus/mems set first.
    private CgroupV1RunCgroup OpenRun(string name) => new(
        name,
        controllerDirectories
            .Where(pair => UsedControllers.Contains(pair.Key))
            .ToDictionary(pair => pair.Key, pair => Path.Combine(pair.Value, parentName, name), StringComparer.Ordinal),
        fileSystem,
        logger);

    public int ReleaseFrozenRuns() =>
        controllerDirectories.TryGetValue("freezer", out var freezer)
            ? CgroupProcesses.ReleaseFrozenRuns(
                fileSystem,
                Path.Combine(freezer, parentName),
                run => fileSystem.ReadAllText(Path.Combine(run, "freezer.state")).Trim() is "FROZEN" or "FREEZING",
                run => fileSystem.Write(Path.Combine(run, "freezer.state"), "THAWED"),
                logger)
            : 0;
}

/// <summary>
/// Teardown design: freeze the run (freezer.state = FROZEN) so a fork loop cannot outrun us, SIGKILL
/// every pid in every hierarchy, thaw so the kills are delivered, and repeat until all cgroup.procs
/// are empty; only then rmdir. Without a freezer the kill loop alone still converges because
/// pids.max bounds how many processes can appear between two passes.
/// </summary>
internal sealed class CgroupV1RunCgroup(
    string name, IReadOnlyDictionary<string, string> controllerDirectories, ICgroupFileSystem fileSystem, ILogger logger)
    : IRunCgroup
{
    // The kernel OOM-kills only after a charge of a few pages failed, so a run stopped by its own limit
    // peaks within a few pages of it (exactly at it, as measured); 1 MiB is generous.
    private const long OwnLimitSlackBytes = 1024 * 1024;

    private readonly string[] _directories = controllerDirectories.Values.Distinct(StringComparer.Ordinal).ToArray();

    public string Name => name;

    public CgroupVersion Version => CgroupVersion.V1;

    public IReadOnlyList<string> ProcessFiles => _directories.Select(d => Path.Combine(d, "cgroup.procs")).ToArray();

    private string Memory(string file) => Path.Combine(controllerDirectories["memory"], file);

    private string? Freezer => controllerDirectories.TryGetValue("freezer", out var directory) ? directory : null;

    internal void Create(SandboxLimits limits, ref bool warnedAboutSwap)
    {
        foreach (var directory in _directories)
        {
            fileSystem.CreateDirectory(directory);
        }

        var memory = limits.MemoryBytes.ToString(CultureInfo.InvariantCulture);
        fileSystem.Write(Memory("memory.limit_in_bytes"), memory);

        // memory+swap must be at least memory, so it is written second. Without it a tree could
        // push pages to swap and use more than its limit.
        if (fileSystem.FileExists(Memory("memory.memsw.limit_in_bytes")))
        {
            fileSystem.Write(Memory("memory.memsw.limit_in_bytes"), memory);
        }
        else
        {
            TryWrite(Memory("memory.swappiness"), "0");
            if (!warnedAboutSwap)
            {
                warnedAboutSwap = true;
                CgroupLog.NoSwapAccounting(logger, Memory(""));
            }
        }

        fileSystem.Write(Path.Combine(controllerDirectories["pids"], "pids.max"), limits.MaxProcesses.ToString(CultureInfo.InvariantCulture));

        var cpu = controllerDirectories["cpu"];
        fileSystem.Write(Path.Combine(cpu, "cpu.cfs_period_us"), CpuQuota.PeriodMicroseconds.ToString(CultureInfo.InvariantCulture));
        fileSystem.Write(Path.Combine(cpu, "cpu.cfs_quota_us"), CpuQuota.QuotaMicroseconds(limits.CpuCores).ToString(CultureInfo.InvariantCulture));
    }

    public void SetBackground(bool background) =>
        fileSystem.Write(Path.Combine(controllerDirectories["cpu"], "cpu.shares"), background ? "2" : "1024");

    public void AddProcess(int pid)
    {
        foreach (var file in ProcessFiles)
        {
            fileSystem.Write(file, pid.ToString(CultureInfo.InvariantCulture));
        }
    }

    public IReadOnlyList<int> ReadProcesses()
    {
        var pids = new HashSet<int>();
        foreach (var file in ProcessFiles)
        {
            if (fileSystem.TryReadAllText(file) is { } text)
            {
                pids.UnionWith(CgroupProcesses.Parse(text));
            }
        }

        return pids.ToArray();
    }

    public TimeSpan ReadCpuTime() =>
        TimeSpan.FromTicks(CgroupProcesses.ReadNumber(fileSystem, Path.Combine(controllerDirectories["cpuacct"], "cpuacct.usage")) / 100);

    public bool RecordsPeakMemory => true;

    public long ReadCurrentMemory() => CgroupProcesses.ReadNumber(fileSystem, Memory("memory.usage_in_bytes"));

    public CgroupUsage ReadUsage()
    {
        // oom_kill in memory.oom_control (Linux 4.13+) counts real OOM kills; failcnt also counts
        // harmless reclaim, so it is only the fallback on kernels without oom_kill.
        var oomControl = Memory("memory.oom_control");
        var oomKills = fileSystem.TryReadAllText(oomControl) is { } control && control.Contains("oom_kill ", StringComparison.Ordinal)
            ? CgroupProcesses.ParseKeyedValue(control, "oom_kill")
            : CgroupProcesses.ReadNumber(fileSystem, Memory("memory.failcnt"));

        // v1 has no per-cgroup "oom" event. failcnt would be one (it counts only at the cgroup whose
        // own counter refused a charge), but recent kernels no longer maintain it (it reads 0 on 6.18
        // after an OOM kill at the limit). So the run's peak says it too: a run that reached its own
        // limit peaks at it (to the page), while a run killed because the parent was full peaks below.
        var peak = CgroupProcesses.ReadNumber(fileSystem, Memory("memory.max_usage_in_bytes"));
        var limit = CgroupProcesses.ReadNumber(fileSystem, Memory("memory.limit_in_bytes"));
        var ownLimitHits = CgroupProcesses.ReadNumber(fileSystem, Memory("memory.failcnt"))
            + CgroupProcesses.ReadNumber(fileSystem, Memory("memory.memsw.failcnt"))
            + (limit > 0 && peak >= limit - OwnLimitSlackBytes ? 1 : 0);
        return new CgroupUsage(
            ReadCpuTime(),
            peak,
            ReadCurrentMemory(),
            oomKills,
            CgroupProcesses.ReadKeyedValue(fileSystem, Path.Combine(controllerDirectories["pids"], "pids.events"), "max"),
            ownLimitHits);
    }

    public async Task<bool> KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // Empty is final: only a process of the run, or we, can add one, and none is left. After a
        // normal end this is the common case, and freezing an empty cgroup still costs a state
        // transition the polling below waits for (10–40 ms a run).
        if (ReadProcesses().Count == 0)
        {
            return true;
        }

        var frozen = Freezer is not null && await FreezeAsync(Freezer, cancellationToken);
        try
        {
            if (frozen)
            {
                // One pass while frozen: nothing can fork between the read and the kill.
                foreach (var pid in ReadProcesses())
                {
                    _ = Interop.Kill(pid, Interop.SIGKILL);
                }
            }
        }
        finally
        {
            if (frozen)
            {
                // SIGKILL is only acted upon once the task runs again.
                TryWrite(Path.Combine(Freezer!, "freezer.state"), "THAWED");
            }
        }

        return await CgroupProcesses.KillUntilEmptyAsync(ReadProcesses, timeout, cancellationToken);
    }

    private async Task<bool> FreezeAsync(string freezer, CancellationToken cancellationToken)
    {
        var state = Path.Combine(freezer, "freezer.state");
        if (!TryWrite(state, "FROZEN"))
        {
            return false;
        }

        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (fileSystem.ReadAllText(state).Trim() == "FROZEN")
            {
                return true;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), cancellationToken);
        }

        CgroupLog.FreezeTimedOut(logger, freezer);
        return true;
    }

    public async Task<bool> DeleteAsync(CancellationToken cancellationToken)
    {
        var all = true;
        foreach (var directory in _directories)
        {
            all &= await CgroupProcesses.DeleteDirectoryAsync(fileSystem, directory, cancellationToken);
        }

        return all;
    }

    private bool TryWrite(string path, string value)
    {
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
