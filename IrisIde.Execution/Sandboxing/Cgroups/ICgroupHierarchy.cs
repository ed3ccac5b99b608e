namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>Where per-run cgroups are created, and how (cgroup v1 or v2).</summary>
internal interface ICgroupHierarchy
{
    CgroupVersion Version { get; }

    /// <summary>The folder runs are created in (v2), or its memory-hierarchy twin (v1); for logs.</summary>
    string ParentPath { get; }

    /// <summary>Creates the run's cgroup with the memory, pids and CPU limits already written.</summary>
    IRunCgroup CreateRun(string name, SandboxLimits limits);
}
