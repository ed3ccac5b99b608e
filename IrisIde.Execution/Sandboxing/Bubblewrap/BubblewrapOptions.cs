namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>Settings of the bubblewrap sandbox, bound from <c>Iris:Sandbox</c>.</summary>
public sealed class BubblewrapOptions
{
    public const string SectionName = "Iris:Sandbox";

    public string BwrapPath { get; set; } = "/usr/bin/bwrap";

    /// <summary>util-linux setpriv: drops to <see cref="Uid"/>/<see cref="Gid"/> with no-new-privs before bwrap runs.</summary>
    public string SetprivPath { get; set; } = "/usr/bin/setpriv";

    /// <summary>util-linux prlimit: sets the rlimits of the launcher, which bwrap and the program inherit.</summary>
    public string PrlimitPath { get; set; } = "/usr/bin/prlimit";

    /// <summary>Host uid the sandbox runs as when the host process is root. Must not be shared with anything else.</summary>
    public int Uid { get; set; } = 61000;

    /// <summary>Host gid the sandbox runs as when the host process is root.</summary>
    public int Gid { get; set; } = 61000;

    /// <summary>Where cgroup hierarchies are mounted; tests point it at a fake root.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>
    /// Folder for per-run cgroups, relative to the host process's own cgroup (so runs stay inside
    /// whatever limits the host itself runs under).
    /// </summary>
    public string CgroupParent { get; set; } = "iris";

    /// <summary>Size of the private /tmp and /dev/shm tmpfs (each). Their pages count against the run's memory limit.</summary>
    public long TmpfsSizeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Host name inside the sandbox.</summary>
    public string Hostname { get; set; } = "iris";

    /// <summary>Extra host paths made visible read-only (e.g. a toolchain under /opt).</summary>
    public IList<ReadOnlyBind> ExtraReadOnlyBinds { get; } = [];
}

/// <summary>A host path shown read-only inside the sandbox.</summary>
public sealed class ReadOnlyBind
{
    public string Source { get; set; } = "";

    /// <summary>Path inside the sandbox; the source path when empty.</summary>
    public string? Target { get; set; }

    /// <summary>Skip silently when the source does not exist.</summary>
    public bool Optional { get; set; }
}
