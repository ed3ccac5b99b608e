using System.Diagnostics;
using System.Globalization;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using IrisIde.Execution.Sandboxing.Launcher;
using IrisIde.Execution.Sandboxing.Processes;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Runs each program under bubblewrap (every namespace unshared, read-only toolchains, the workspace
/// as the only writable host folder, an unprivileged uid, no capabilities) inside a per-run cgroup
/// (memory, pids, cpu) plus rlimits. Every run's cgroup sits in one parent limited to the
/// <see cref="RunCapacity"/>, and every run's processes have oom_score_adj 1000: when runs outgrow the
/// host, a run is killed, not the server. See <see cref="BubblewrapProcess"/> for supervision and teardown.
/// </summary>
public sealed class BubblewrapSandbox : ISandbox, IDisposable, IAsyncDisposable
{
    /// <summary>uid/gid of the program as seen inside the sandbox (mapped to the host uid).</summary>
    internal const int SandboxUid = 1000;

    private readonly BubblewrapOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<Task<ICgroupHierarchy>> _cgroups;
    private readonly WorkspaceArea _runtimeArea;
    private readonly Lazy<string> _runtimeDirectory;
    private readonly BubblewrapMounts _mounts;
    private readonly SandboxUidPool _uids;
    private readonly WarmSandboxPool _warm;
    private readonly bool _isRoot = Environment.IsPrivilegedProcess;
    private readonly string[] _foreignMountRoots;
    private readonly NetworkNamespacePool? _networks;

    /// <param name="workspaces">The runs' workspace area, whose other runs' workspace mounts each launcher leaves out of its mount namespace.</param>
    public BubblewrapSandbox(IOptions<BubblewrapOptions> options, RunCapacity capacity, ILogger<BubblewrapSandbox> logger, WorkspaceArea? workspaces = null)
        : this(options.Value, capacity, logger, cgroups: null, workspaces?.Root)
    {
    }

    internal BubblewrapSandbox(BubblewrapOptions options, RunCapacity capacity, ILogger logger, ICgroupHierarchy? cgroups, string? workspaceRoot = null)
    {
        _options = options;
        _logger = logger;

        // Created once, at start-up (BubblewrapSandboxStartup) or by the first run, whichever comes
        // first. A failure is kept and reported to every run, like a missing bwrap would be.
        _cgroups = cgroups is null
            ? new Lazy<Task<ICgroupHierarchy>>(() =>
                CgroupHierarchyFactory.CreateAsync(options.CgroupRoot, options.CgroupParent, capacity, logger, CancellationToken.None))
            : new Lazy<Task<ICgroupHierarchy>>(Task.FromResult(cgroups));
        // The runtime folder is an instance folder of its own area, so what a crashed server left there
        // (status files, mounted workspace slots) is swept like a crashed server's workspaces.
        _runtimeArea = new WorkspaceArea(
            new WorkspaceSettings(Path.Combine(options.ResolveStateDirectory(), "sandboxes"), 0, 0) { MountTmpfs = false }, logger);
        _runtimeDirectory = new Lazy<string>(CreateRuntimeDirectory);

        // Where the other runs' workspaces and slots are mounted, which each launcher leaves out of bwrap's namespace;
        // never a root an operator's extra bind comes from (what bwrap binds must stay).
        _foreignMountRoots = _isRoot
            ? [.. new[] { _runtimeArea.Root, workspaceRoot }.OfType<string>().Select(Path.GetFullPath)
                .Where(root => root != "/" && !options.ExtraReadOnlyBinds.Any(bind => IsUnder(Path.GetFullPath(bind.Source), root)))
                .Distinct(StringComparer.Ordinal)]
            : [];
        _mounts = new BubblewrapMounts(options, () => _runtimeDirectory.Value, canPrepareRoots: _isRoot, logger);
        _uids = new SandboxUidPool(options.Uid, options.UidCount, Path.Combine(options.ResolveStateDirectory(), "uids"));
        _networks = _isRoot && options.ReuseNetworkNamespaces ? new NetworkNamespacePool(logger) : null;

        // Slots are mount points, so ready sandboxes need root, as the tmpfs workspaces do; a small uid
        // range keeps one uid for a run (a run would take a ready sandbox's uid anyway, at a set-up's cost).
        _warm = new WarmSandboxPool(_isRoot ? Math.Min(options.WarmSandboxes, options.UidCount - 1) : 0, PrepareWarmAsync, logger);
        if (!_isRoot)
        {
            BubblewrapSandboxLog.NotRoot(logger);
        }
        else if (File.Exists("/proc/sys/fs/protected_hardlinks") && File.ReadAllText("/proc/sys/fs/protected_hardlinks").Trim() == "0")
        {
            BubblewrapSandboxLog.HardlinksUnprotected(logger);
        }
    }

    public string Name => "bubblewrap";

    /// <summary>
    /// Creates the runs' parent cgroup with its limits (after ending the runs a crashed server left in
    /// it), writes the seccomp filter, and ends leftover processes of the uid range nobody holds. Runs
    /// do the first two themselves when this was not called.
    /// </summary>
    internal async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await _cgroups.Value.WaitAsync(cancellationToken);
        _ = _runtimeDirectory.Value;
        SweepLeftoverProcesses();
        _runtimeArea.Sweep();
    }

    /// <summary>
    /// Ends what crashed servers left: their runs' cgroups, processes of uids no run holds, their
    /// runtime folders (with any workspace slot still mounted there).
    /// </summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        var hierarchy = await _cgroups.Value.WaitAsync(cancellationToken);
        await hierarchy.ReleaseLeftoverRunsAsync(cancellationToken);
        SweepLeftoverProcesses();
        _runtimeArea.Sweep();
    }

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        SandboxSpec.ThrowIfInvalid(spec);
        var command = InitCommand.Encode(SandboxSpec.SandboxWorkspacePath, spec.Command);

        cancellationToken.ThrowIfCancellationRequested();
        var workspace = Path.GetFullPath(spec.WorkspacePath);
        if (!_isRoot && new DirectoryInfo(workspace) is { Exists: false } or { LinkTarget: not null })
        {
            throw new ArgumentException($"The workspace {workspace} must be an existing folder, not a link.", nameof(spec));
        }

        OrphanReaper.EnsureSubreaper();
        var hierarchy = await _cgroups.Value.WaitAsync(cancellationToken);

        // The next run of this shape finds a sandbox ready: made once this run holds nothing any more,
        // not while its program runs (making one beside it delayed that program by a third on 2 cores).
        void Replenish() => _warm.Replenish(spec);
        return _warm.TryTake(WarmShape.Of(spec)) is { } ready && await TryClaimAsync(ready, workspace, command, Replenish) is { } claimed
            ? claimed
            : await StartColdAsync(spec, workspace, command, hierarchy, Replenish, cancellationToken);
    }

    /// <summary>Hands a ready sandbox its workspace and command; null when it turns out unusable (it is then discarded).</summary>
    private async Task<BubblewrapProcess?> TryClaimAsync(WarmSandbox ready, string workspace, byte[] command, Action released)
    {
        var stopwatch = Stopwatch.StartNew();
        try
        {
            if (ready.Process.Uid is { } uid)
            {
                WorkspaceTree.ChangeOwner(workspace, (uint)uid.Uid, (uint)uid.Uid);
            }
            ready.Slot.Attach(workspace);
            ready.Process.Cgroup.SetBackground(false);
            await ready.Process.SendCommandAsync(command);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            BubblewrapSandboxLog.WarmSandboxFailed(_logger, exception);
            await ready.DiscardAsync();
            return null;
        }

        BubblewrapSandboxLog.RunStarted(_logger, ready.Process.RunId, "(ready sandbox)", ready.Process.Process.Id, ready.Process.Cgroup.Version);
        return ready.Process.Supervise(stopwatch, ready.Slot, _logger, released);
    }

    private async Task<BubblewrapProcess> StartColdAsync(
        SandboxSpec spec, string workspace, byte[] command, ICgroupHierarchy hierarchy, Action released, CancellationToken cancellationToken)
    {
        SandboxUidLease? uid = null;
        if (_isRoot)
        {
            // A full range first gives back the uids of sandboxes kept ready: a run comes before a spare.
            while ((uid = _uids.TryAcquire()) is null && await _warm.DiscardOneAsync())
            {
            }

            uid ??= _uids.Acquire();
        }

        if (uid is not null)
        {
            // By descriptor on raw names: links re-owned, never followed; no name or depth a
            // compile step left can stop it. fs.protected_hardlinks (checked above) covers hard links.
            try
            {
                WorkspaceTree.ChangeOwner(workspace, (uint)uid.Uid, (uint)uid.Uid);
            }
            catch
            {
                uid.Dispose();
                throw;
            }
        }

        var stopwatch = Stopwatch.StartNew();
        var launch = await LaunchAsync(spec, workspace, hierarchy, uid, cancellationToken);
        var process = launch.Supervise(stopwatch, null, _logger, released);
        try
        {
            await launch.SendCommandAsync(command);
        }
        catch (IOException)
        {
            // The sandbox died before it read its command; supervision reports how.
        }

        BubblewrapSandboxLog.RunStarted(_logger, launch.RunId, spec.Command[0], launch.Process.Id, launch.Cgroup.Version);
        return process;
    }

    /// <summary>Starts a sandbox of <paramref name="spec"/>'s shape that waits for its command; the uid is then the launch's.</summary>
    private async Task<SandboxLaunch> LaunchAsync(
        SandboxSpec spec, string workspace, ICgroupHierarchy hierarchy, SandboxUidLease? uid, CancellationToken cancellationToken, bool background = false)
    {
        var runId = Guid.NewGuid().ToString("N")[..12];
        IRunCgroup? cgroup = null;
        try
        {
            cgroup = hierarchy.CreateRun(RunCgroupName.For(runId), spec.Limits);
            if (background)
            {
                // Set up on CPU no run wants: a spare must not slow the program running now.
                cgroup.SetBackground(true);
            }

            var files = RunStatusFiles.For(_runtimeDirectory.Value, runId);
            if (uid is not null && _networks is not null)
            {
                uid.Network ??= _networks.TryTake();
            }

            var process = await ProcessLauncher.StartAsync(
                BuildStartInfo(spec, workspace, cgroup.ProcessFiles, files, uid?.Uid, uid?.Network?.Path), cancellationToken);
            return new SandboxLaunch(runId, process, cgroup, uid, spec.Limits, files);
        }
        catch
        {
            if (cgroup is not null)
            {
                await cgroup.DeleteAsync(CancellationToken.None);
            }

            uid?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A sandbox for the next run of <paramref name="spec"/>'s shape: its own uid (none when the range is
    /// used up; a run that then finds none takes a ready sandbox's), cgroup and workspace slot, set up
    /// and waiting for its command.
    /// </summary>
    private async Task<WarmSandbox?> PrepareWarmAsync(SandboxSpec spec)
    {
        var hierarchy = await _cgroups.Value;
        if (_uids.TryAcquire() is not { } uid)
        {
            return null;
        }

        WorkspaceSlot? slot = null;
        try
        {
            slot = WorkspaceSlot.Create(Path.Combine(_runtimeDirectory.Value, SlotFolder, Guid.NewGuid().ToString("N")[..12]));
            var launch = await LaunchAsync(spec, slot.Path, hierarchy, uid, CancellationToken.None, background: true);
            return new WarmSandbox(WarmShape.Of(spec), launch, slot, _logger);
        }
        catch
        {
            slot?.Dispose();
            uid.Dispose();
            throw;
        }
    }

    internal ProcessStartInfo BuildStartInfo(
        SandboxSpec spec, string workspace, IReadOnlyList<string> cgroupProcessFiles, RunStatusFiles files, int? uid, string? networkNamespace = null)
    {
        var startInfo = new ProcessStartInfo(_options.LauncherPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };

        // Nothing of the host's environment reaches even the launcher; bwrap --clearenv then builds
        // the program's environment from the allow-list alone.
        startInfo.Environment.Clear();

        foreach (var argument in BuildLauncherArguments(spec, workspace, cgroupProcessFiles, files, uid, networkNamespace))
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>
    /// The launcher raises its oom_score_adj to 1000, joins the run's cgroup(s), opens the status files
    /// and the files bwrap reads by descriptor, closes every other descriptor, applies the rlimits,
    /// takes the run's uid and gid with no supplementary groups, sets no_new_privs and execs bwrap — one
    /// process, so bwrap and everything it starts are accounted to the cgroup from their first
    /// instruction and inherit all of it. Under host memory pressure the kernel kills a run first,
    /// never the server.
    /// </summary>
    internal IEnumerable<string> BuildLauncherArguments(
        SandboxSpec spec, string workspace, IReadOnlyList<string> cgroupProcessFiles, RunStatusFiles files, int? uid, string? networkNamespace = null)
    {
        var launcherFiles = new LauncherFiles();
        var preparedRoot = _mounts.Root(spec.ToolchainPaths);
        var contained = preparedRoot is not null && uid is not null && _options.LauncherBuildsSandbox;
        // What the launcher execs: bwrap, or (building the sandbox itself) our init inside it.
        List<string> command = contained
            ? [InitPath, RunStatusFiles.ProgramStatusDescriptor.ToString(CultureInfo.InvariantCulture)]
            : [.. BuildBwrapArguments(spec, workspace, launcherFiles, joinsNetwork: networkNamespace is not null, preparedRoot)];

        yield return "run";
        yield return "--oom-score-adj";
        yield return "1000";
        foreach (var file in cgroupProcessFiles)
        {
            yield return "--cgroup";
            yield return file;
        }

        var limits = spec.Limits;
        // RLIMIT_CPU is per process: a backstop behind the cgroup's whole-tree CPU accounting.
        string[] rlimits =
        [
            "cpu=" + ((long)Math.Ceiling(limits.CpuTime.TotalSeconds) + 1).ToString(CultureInfo.InvariantCulture),
            "fsize=" + limits.MaxFileSizeBytes.ToString(CultureInfo.InvariantCulture),
            "nofile=" + limits.MaxOpenFiles.ToString(CultureInfo.InvariantCulture),
            "core=0",
            "stack=" + limits.StackBytes.ToString(CultureInfo.InvariantCulture),
        ];
        foreach (var rlimit in rlimits)
        {
            yield return "--rlimit";
            yield return rlimit;
        }

        yield return "--fd-out";
        yield return RunStatusFiles.BwrapStatusDescriptor + "=" + files.BwrapStatus;
        yield return "--fd-out";
        yield return RunStatusFiles.ProgramStatusDescriptor + "=" + files.ProgramStatus;
        for (var i = 0; i < launcherFiles.Paths.Count; i++)
        {
            yield return "--fd";
            yield return (LauncherFiles.FirstDescriptor + i).ToString(CultureInfo.InvariantCulture) + "=" + launcherFiles.Paths[i];
        }

        if (_foreignMountRoots.Length > 0)
        {
            // Every mount of the namespace bwrap starts in costs each of its ~40 bind mounts a re-read: the launcher
            // leaves the other runs' workspaces and slots (three mounts a run) and the host's cgroup file systems out.
            foreach (var root in _foreignMountRoots)
            {
                yield return "--drop-mounts-under";
                yield return root;
            }

            yield return "--keep-mount";
            yield return Path.GetFullPath(workspace);
            if (preparedRoot is not null)
            {
                yield return "--keep-mount";
                yield return preparedRoot.Path;
            }
        }

        if (networkNamespace is not null)
        {
            yield return "--netns";
            yield return networkNamespace;
        }

        if (uid is { } id)
        {
            yield return "--uid";
            yield return id.ToString(CultureInfo.InvariantCulture);
            yield return "--gid";
            yield return id.ToString(CultureInfo.InvariantCulture);
        }

        if (contained)
        {
            foreach (var argument in BuildContainArguments(spec, workspace, preparedRoot!))
            {
                yield return argument;
            }
        }

        yield return "--";
        foreach (var argument in command)
        {
            yield return argument;
        }
    }

    /// <summary>
    /// What the launcher needs to build the sandbox itself (see iris-launch.c, contain): what bwrap would get for a run
    /// with a prepared root — the root, the run's own mounts, host name, ids, environment, seccomp filter, status
    /// descriptors.
    /// </summary>
    private IEnumerable<string> BuildContainArguments(SandboxSpec spec, string workspace, PreparedRoot root)
    {
        var descriptor = (int number) => number.ToString(CultureInfo.InvariantCulture);
        string[] arguments =
        [
            "--contain", root.Path,
            "--workspace", workspace,
            "--workspace-at", SandboxSpec.SandboxWorkspacePath,
            "--hostname", _options.Hostname,
            "--tmpfs-size", _options.TmpfsSizeBytes.ToString(CultureInfo.InvariantCulture),
            "--sandbox-id", SandboxUid.ToString(CultureInfo.InvariantCulture),
            "--status-fd", descriptor(RunStatusFiles.BwrapStatusDescriptor),
            "--pass-fd", descriptor(RunStatusFiles.ProgramStatusDescriptor),
            "--seccomp", SeccompFilterPath,
        ];
        foreach (var argument in arguments)
        {
            yield return argument;
        }

        var (maskedFiles, maskedFolders) = _mounts.ProcMasks;
        foreach (var name in maskedFiles)
        {
            yield return "--mask-file";
            yield return name;
        }

        foreach (var name in maskedFolders)
        {
            yield return "--mask-folder";
            yield return name;
        }

        foreach (var (name, value) in BuildEnvironment(spec))
        {
            yield return "--setenv";
            yield return name + "=" + value;
        }
    }

    /// <summary>The in-sandbox path of the launcher copy that is the sandbox's pid 1.</summary>
    internal const string InitPath = "/.iris/init";

    /// <param name="joinsNetwork">
    /// The launcher puts the sandbox in a network namespace of the pool: bwrap unshares every namespace but that one.
    /// </param>
    /// <param name="root">The run's prepared root; null: bwrap builds the root.</param>
    internal IEnumerable<string> BuildBwrapArguments(SandboxSpec spec, string workspace, LauncherFiles files, bool joinsNetwork = false, PreparedRoot? root = null)
    {
        var uid = SandboxUid.ToString(CultureInfo.InvariantCulture);
        yield return _options.BwrapPath;
        string[] namespaces = joinsNetwork
            ? ["--unshare-user", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup-try"]
            : ["--unshare-all", "--unshare-user"];
        foreach (var argument in namespaces)
        {
            yield return argument;
        }

        string[] isolation =
        [
            "--disable-userns",
            "--uid", uid, "--gid", uid,
            "--hostname", _options.Hostname,
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv",
            // Our init is pid 1 (bwrap's own would report a signal n and an exit code 128 + n alike).
            "--as-pid-1",
            "--seccomp", files.OpenReadOnly(SeccompFilterPath).ToString(CultureInfo.InvariantCulture),
        ];
        foreach (var argument in isolation)
        {
            yield return argument;
        }

        foreach (var (name, value) in BuildEnvironment(spec))
        {
            yield return "--setenv";
            yield return name;
            yield return value;
        }

        foreach (var argument in _mounts.Arguments(spec, workspace, files, root))
        {
            yield return argument;
        }

        yield return "--json-status-fd";
        yield return RunStatusFiles.BwrapStatusDescriptor.ToString(CultureInfo.InvariantCulture);
        yield return "--";
        yield return InitPath;
        yield return RunStatusFiles.ProgramStatusDescriptor.ToString(CultureInfo.InvariantCulture);
    }

    private const string SlotFolder = "slots";

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);

    private string SeccompFilterPath => Path.Combine(_runtimeDirectory.Value, "seccomp.bpf");

    internal static IEnumerable<KeyValuePair<string, string>> BuildEnvironment(SandboxSpec spec)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = SandboxSpec.SandboxWorkspacePath,
            ["LANG"] = "C.UTF-8",
            ["LC_ALL"] = "C.UTF-8",
            ["TERM"] = "xterm-256color",
            ["TMPDIR"] = "/tmp",
            ["PYTHONUNBUFFERED"] = "1",
            ["PYTHONDONTWRITEBYTECODE"] = "1",
        };
        foreach (var (name, value) in spec.Environment ?? new Dictionary<string, string>())
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
                || value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException($"Invalid environment variable name or value: '{name}'.", nameof(spec));
            }

            environment[name] = value;
        }

        return environment;
    }

    /// <summary>
    /// A private folder for the synthetic /etc files, the per-run status files and the ready sandboxes'
    /// workspace slots: this instance's folder under <c>StateDirectory/sandboxes</c>, owned by the host
    /// process, searchable (not listable or writable) by the sandbox uids bwrap runs as.
    /// </summary>
    private string CreateRuntimeDirectory()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("bubblewrap sandboxes need Linux.");
        }

        var directory = _runtimeArea.InstancePath;
        const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

        var files = _mounts.SyntheticEtcFiles(SandboxUid);
        foreach (var (name, content) in files)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, content);
            File.SetUnixFileMode(path, Readable);
        }

        ExportSeccompFilter(Path.Combine(directory, "seccomp.bpf"));

        // Ready sandboxes' workspace slots: bwrap, as the run's uid, must reach them; nobody may list them.
        Directory.CreateDirectory(Path.Combine(directory, SlotFolder), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        return directory;
    }

    /// <summary>iris-seccomp compiles the policy (libseccomp) to the BPF every run's bwrap loads.</summary>
    private void ExportSeccompFilter(string path)
    {
        var startInfo = new ProcessStartInfo(_options.SeccompCompilerPath) { RedirectStandardError = true, UseShellExecute = false };
        startInfo.ArgumentList.Add(path);
        using var process = Process.Start(startInfo) ?? throw new InvalidOperationException("The seccomp filter compiler did not start.");
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0 || new FileInfo(path) is not { Exists: true, Length: > 0 })
        {
            throw new InvalidOperationException($"The sandbox's seccomp filter could not be written (exit {process.ExitCode}): {error.Trim()}");
        }
    }

    /// <summary>
    /// Ends every process that runs as a uid of the range no run holds: what a crashed server's runs
    /// left (a run's own processes end with its cgroup; this covers the rest). Logged when it finds any.
    /// </summary>
    internal int SweepLeftoverProcesses()
    {
        if (!_isRoot)
        {
            return 0;
        }

        var (first, end) = _uids.Range;
        var killed = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || ProcessUid(pid) is not { } uid || uid < first || uid >= end || !_uids.IsFree(uid))
            {
                continue;
            }

            if (Interop.Kill(pid, Interop.SIGKILL) == 0)
            {
                killed++;
                BubblewrapSandboxLog.LeftoverProcessKilled(_logger, pid, uid);
            }
        }

        return killed;
    }

    private static int? ProcessUid(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("Uid:", StringComparison.Ordinal))
                {
                    var fields = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                    return int.Parse(fields[1], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or FormatException)
        {
            // Gone while we looked.
        }

        return null;
    }

    /// <summary>How many sandboxes are set up and waiting for a run.</summary>
    internal int ReadyCount => _warm.ReadyCount;

    /// <summary>Ends the sandboxes kept ready (and those being prepared); later runs prepare new ones.</summary>
    internal Task DiscardReadyAsync() => _warm.DiscardAllAsync();

    /// <summary>Ends the sandboxes kept ready, then removes the runtime folder.</summary>
    public async ValueTask DisposeAsync()
    {
        await _warm.DisposeAsync();
        _mounts.Dispose();
        RemoveRuntimeDirectory();
        _networks?.Dispose();
    }

    public void Dispose()
    {
        _warm.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _mounts.Dispose();
        RemoveRuntimeDirectory();
        _networks?.Dispose();
    }

    /// <summary>Removes the runtime folder (unmounting any slot left in it) and frees its instance lock.</summary>
    private void RemoveRuntimeDirectory() => _runtimeArea.Dispose();

    /// <summary>Where this sandbox keeps the workspace slots of its ready sandboxes.</summary>
    internal string SlotDirectory => Path.Combine(_runtimeDirectory.Value, SlotFolder);
}
