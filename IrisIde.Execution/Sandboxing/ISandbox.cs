namespace IrisIde.Execution.Sandboxing;

/// <summary>
/// Starts one process tree under limits. One implementation per isolation technology
/// (bubblewrap + cgroups, a Docker container, a bare process inside a runner pod).
/// </summary>
public interface ISandbox
{
    /// <summary>A short name for logs, results and the run history ("bubblewrap", "docker", "process").</summary>
    string Name { get; }

    /// <summary>
    /// Starts <paramref name="spec"/>. The returned handle owns the process tree: disposing it kills
    /// every process of the run and releases its resources (cgroup, container).
    /// </summary>
    Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken);
}
