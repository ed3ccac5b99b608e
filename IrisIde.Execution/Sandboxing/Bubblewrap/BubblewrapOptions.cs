namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>Settings of the bubblewrap sandbox, bound from <c>Iris:Sandbox</c>.</summary>
public sealed class BubblewrapOptions
{
    public const string SectionName = "Iris:Sandbox";

    public string BwrapPath { get; set; } = "/usr/bin/bwrap";

    /// <summary>
    /// The native launcher (built with IrisIde.Execution, next to its assembly): prepares each run's
    /// process (cgroups, rlimits, uid, descriptors) before it execs bwrap, and is the sandbox's pid 1.
    /// </summary>
    public string LauncherPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "iris-launch");

    /// <summary>
    /// The native program (built with IrisIde.Execution, next to its assembly) that compiles the runs' seccomp
    /// filter with libseccomp, once per server start; the launcher, started for every run, does without it.
    /// </summary>
    public string SeccompCompilerPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "iris-seccomp");

    /// <summary>
    /// First host uid (and gid) of the runs' range when the host process is root: every concurrent
    /// run gets its own uid from [Uid, Uid + UidCount). No uid of the range may be used by anything else.
    /// </summary>
    public int Uid { get; set; } = 61000;

    /// <summary>How many uids the range has: the most runs (compile steps included) at once on this machine.</summary>
    public int UidCount { get; set; } = 1000;

    /// <summary>
    /// Where the uid locks live, shared by every server process of the machine (so they share the range
    /// safely). Default: <c>/run/iris</c> as root, a folder under the temp path otherwise.
    /// </summary>
    public string? StateDirectory { get; set; }

    public string ResolveStateDirectory() =>
        StateDirectory is { Length: > 0 } directory ? directory
        : Environment.IsPrivilegedProcess ? "/run/iris"
        : Path.Combine(Path.GetTempPath(), "iris-" + Environment.UserName);

    /// <summary>Where cgroup hierarchies are mounted; tests point it at a fake root.</summary>
    public string CgroupRoot { get; set; } = "/sys/fs/cgroup";

    /// <summary>
    /// Folder for per-run cgroups, relative to the host process's own cgroup (so runs stay inside
    /// whatever limits the host itself runs under).
    /// </summary>
    public string CgroupParent { get; set; } = "iris";

    /// <summary>Size of the private /tmp and /dev/shm tmpfs (each). Their pages count against the run's memory limit.</summary>
    public long TmpfsSizeBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>How often leftovers are swept (cgroups of servers that are gone, processes of uids no run holds).</summary>
    public double SweepIntervalSeconds { get; set; } = 300;

    /// <summary>
    /// The most sandboxes kept set up ahead of the runs that will take them (as root only), for the
    /// recently used kinds of run (limits, environment, toolchain): as many of a kind as run at once,
    /// one when runs come one at a time. A run that finds one skips bwrap's set-up. Each holds a uid
    /// of the range, a cgroup and three idle processes (~2 MiB); 0 turns this off.
    /// </summary>
    public int WarmSandboxes { get; set; } = 4;

    /// <summary>
    /// Runs join an empty network namespace made ahead and used by one run at a time (root only), instead of bwrap
    /// making one per run; false makes bwrap unshare one for every run.
    /// </summary>
    public bool ReuseNetworkNamespaces { get; set; } = true;

    /// <summary>
    /// Each kind of run's read-only root (its toolchain's host paths, /etc, the init) is made once as a mount of its
    /// own and bound whole by every run of the kind (root only), instead of bwrap binding each path every run.
    /// </summary>
    public bool PrepareRoots { get; set; } = true;

    /// <summary>
    /// Runs with a prepared root (as root) have the launcher make their namespaces and mounts itself, as bwrap would with
    /// the same arguments, for a third of bwrap's CPU a run (docs/BENCHMARKS.md); false has bwrap make every sandbox.
    /// </summary>
    public bool LauncherBuildsSandbox { get; set; } = true;

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
