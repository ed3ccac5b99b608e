namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>Where per-run cgroups are created, and how (cgroup v1 or v2).</summary>
internal interface ICgroupHierarchy
{
    CgroupVersion Version { get; }

    /// <summary>The folder runs are created in (v2), or its memory-hierarchy twin (v1); for logs.</summary>
    string ParentPath { get; }

    /// <summary>
    /// Creates the parent every run goes under (or reuses the one a previous server left) and writes
    /// its memory and pids limits: when the runs together reach them, the kernel's OOM killer picks a
    /// run inside the parent, never the server outside it.
    /// </summary>
    void PrepareParent();

    /// <summary>Creates the run's cgroup with the memory, pids and CPU limits already written.</summary>
    IRunCgroup CreateRun(string name, SandboxLimits limits);

    /// <summary>
    /// Ends the runs a dead server left behind: every run whose owner (see <see cref="RunCgroupName"/>)
    /// no longer runs is killed and removed, and so is every frozen run (below). Runs of live servers
    /// sharing the parent are left alone. Returns how many runs were ended.
    /// </summary>
    Task<int> ReleaseLeftoverRunsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Ends the runs a dead process left frozen. A run is frozen only for the instant its teardown kills
    /// it; a process killed in that instant (a worker taking SIGKILL) leaves its programs frozen forever,
    /// unkillable, holding their memory. Every frozen run below the parent is killed and thawed: if it
    /// belongs to a live sandbox in the middle of its own teardown, that teardown does the same. Returns
    /// how many runs were released.
    /// </summary>
    int ReleaseFrozenRuns();
}
