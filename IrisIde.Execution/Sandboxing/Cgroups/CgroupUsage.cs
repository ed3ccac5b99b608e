namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>What a run's cgroup measured.</summary>
/// <param name="CpuTime">User + system CPU of every process that ever ran in the cgroup.</param>
/// <param name="PeakMemoryBytes">High-water mark of the cgroup's memory (0 when unknown).</param>
/// <param name="CurrentMemoryBytes">Memory charged right now.</param>
/// <param name="OomKills">Processes the kernel's OOM killer ended because of the cgroup limit.</param>
/// <param name="ProcessLimitHits">Forks refused because of pids.max.</param>
/// <param name="OwnMemoryLimitHits">
/// Times the run's own memory limit refused memory (v1 failcnt, v2 memory.events oom). An OOM kill
/// with none of these came from above: the parent of all runs was full, or the host was.
/// </param>
internal sealed record CgroupUsage(
    TimeSpan CpuTime,
    long PeakMemoryBytes,
    long CurrentMemoryBytes,
    long OomKills,
    long ProcessLimitHits,
    long OwnMemoryLimitHits);
