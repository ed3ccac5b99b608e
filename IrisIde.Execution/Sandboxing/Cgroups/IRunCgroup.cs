namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>The cgroup (one per hierarchy on v1) that holds every process of one run.</summary>
internal interface IRunCgroup
{
    string Name { get; }

    CgroupVersion Version { get; }

    /// <summary>
    /// The cgroup.procs files a launcher writes its own pid into before it execs the sandbox, so that
    /// nothing the run starts escapes accounting.
    /// </summary>
    IReadOnlyList<string> ProcessFiles { get; }

    /// <summary>Moves an existing process into the run's cgroup.</summary>
    void AddProcess(int pid);

    /// <summary>Pids currently in the cgroup (all hierarchies on v1).</summary>
    IReadOnlyList<int> ReadProcesses();

    /// <summary>
    /// In the background the cgroup gets the least CPU weight the kernel allows (v1 <c>cpu.shares</c> 2,
    /// v2 <c>cpu.weight</c> 1), so it runs only on CPU no run wants (a sandbox set up ahead of its run);
    /// otherwise the default weight every run has.
    /// </summary>
    void SetBackground(bool background);

    /// <summary>CPU time only: one file, cheap enough to poll.</summary>
    TimeSpan ReadCpuTime();

    /// <summary>
    /// Whether the kernel keeps the cgroup's peak memory itself (v1 always; v2 since Linux 5.19's
    /// <c>memory.peak</c>); when not, supervision samples <see cref="ReadCurrentMemory"/>.
    /// </summary>
    bool RecordsPeakMemory { get; }

    /// <summary>Memory charged to the cgroup now, in bytes.</summary>
    long ReadCurrentMemory();

    CgroupUsage ReadUsage();

    /// <summary>Kills every process in the cgroup and returns once it is empty (or the timeout passed).</summary>
    Task<bool> KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Removes the cgroup directories; returns false when some could not be removed.</summary>
    Task<bool> DeleteAsync(CancellationToken cancellationToken);
}
