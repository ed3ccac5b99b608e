using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using IrisIde.Execution.Sandboxing.Launcher;
using IrisIde.Execution.Sandboxing.Processes;
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
public sealed class BubblewrapSandbox : ISandbox, IDisposable
{
    /// <summary>uid/gid of the program as seen inside the sandbox (mapped to the host uid).</summary>
    internal const int SandboxUid = 1000;

    private readonly BubblewrapOptions _options;
    private readonly ILogger _logger;
    private readonly Lazy<Task<ICgroupHierarchy>> _cgroups;
    private readonly Lazy<string> _runtimeDirectory;
    private readonly BubblewrapMounts _mounts;
    private readonly bool _isRoot = Environment.IsPrivilegedProcess;

    public BubblewrapSandbox(IOptions<BubblewrapOptions> options, RunCapacity capacity, ILogger<BubblewrapSandbox> logger)
        : this(options.Value, capacity, logger, cgroups: null)
    {
    }

    internal BubblewrapSandbox(BubblewrapOptions options, RunCapacity capacity, ILogger logger, ICgroupHierarchy? cgroups)
    {
        _options = options;
        _logger = logger;

        // Created once, at start-up (BubblewrapSandboxStartup) or by the first run, whichever comes
        // first. A failure is kept and reported to every run, like a missing bwrap would be.
        _cgroups = cgroups is null
            ? new Lazy<Task<ICgroupHierarchy>>(() =>
                CgroupHierarchyFactory.CreateAsync(options.CgroupRoot, options.CgroupParent, capacity, logger, CancellationToken.None))
            : new Lazy<Task<ICgroupHierarchy>>(Task.FromResult(cgroups));
        _runtimeDirectory = new Lazy<string>(CreateRuntimeDirectory);
        _mounts = new BubblewrapMounts(options, () => _runtimeDirectory.Value);
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
    /// Creates the runs' parent cgroup with its limits, after ending the runs a crashed server left in
    /// it. Runs do it themselves when this was not called.
    /// </summary>
    internal Task PrepareAsync(CancellationToken cancellationToken) => _cgroups.Value.WaitAsync(cancellationToken);

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        SandboxSpec.ThrowIfInvalid(spec);

        cancellationToken.ThrowIfCancellationRequested();
        var workspace = Path.GetFullPath(spec.WorkspacePath);
        if (_isRoot)
        {
            WorkspaceOwnership.GiveTo(workspace, (uint)_options.Uid, (uint)_options.Gid);
        }
        else if (new DirectoryInfo(workspace) is { Exists: false } or { LinkTarget: not null })
        {
            throw new ArgumentException($"The workspace {workspace} must be an existing folder, not a link.", nameof(spec));
        }

        OrphanReaper.EnsureSubreaper();
        var runId = Guid.NewGuid().ToString("N")[..12];
        var hierarchy = await _cgroups.Value.WaitAsync(cancellationToken);
        var cgroup = hierarchy.CreateRun(RunCgroupName.For(runId), spec.Limits);
        var statusFile = Path.Combine(_runtimeDirectory.Value, runId + ".status");
        Process process;
        var stopwatch = Stopwatch.StartNew();
        try
        {
            process = await ProcessLauncher.StartAsync(BuildStartInfo(spec, workspace, cgroup.ProcessFiles, statusFile), cancellationToken);
        }
        catch
        {
            await cgroup.DeleteAsync(CancellationToken.None);
            throw;
        }

        BubblewrapSandboxLog.RunStarted(_logger, runId, spec.Command[0], process.Id, cgroup.Version);
        return new BubblewrapProcess(runId, process, cgroup, spec.Limits, statusFile, stopwatch, _logger);
    }

    internal ProcessStartInfo BuildStartInfo(SandboxSpec spec, string workspace, IReadOnlyList<string> cgroupProcessFiles, string statusFile)
    {
        var startInfo = new ProcessStartInfo("/bin/sh")
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
        startInfo.Environment["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";

        foreach (var argument in BuildLauncherArguments(spec, workspace, cgroupProcessFiles, statusFile))
        {
            startInfo.ArgumentList.Add(argument);
        }

        return startInfo;
    }

    /// <summary>
    /// sh raises its own oom_score_adj to 1000, joins the run's cgroup(s) with its own pid and opens the
    /// status file as fd 3, then execs prlimit → setpriv → bwrap → program. Because each step is an exec
    /// of the same process, bwrap and everything it starts are accounted to the cgroup from their first
    /// instruction, and inherit the score: under host memory pressure the kernel kills a run first, never
    /// the server. (Raising the score needs no privilege, and nothing in the chain may lower it again.)
    /// </summary>
    internal IEnumerable<string> BuildLauncherArguments(SandboxSpec spec, string workspace, IReadOnlyList<string> cgroupProcessFiles, string statusFile)
    {
        const string Script =
            "status=$1; n=$2; shift 2; " +
            "echo 1000 > /proc/$$/oom_score_adj || exit 125; " +
            "while [ \"$n\" -gt 0 ]; do echo $$ > \"$1\" || exit 125; shift; n=$((n-1)); done; " +
            "exec 3>\"$status\" && exec \"$@\"; exit 125";
        yield return "-c";
        yield return Script;
        yield return "iris-sandbox";
        yield return statusFile;
        yield return cgroupProcessFiles.Count.ToString(CultureInfo.InvariantCulture);
        foreach (var file in cgroupProcessFiles)
        {
            yield return file;
        }

        var limits = spec.Limits;
        yield return _options.PrlimitPath;
        // RLIMIT_CPU is per process: a backstop behind the cgroup's whole-tree CPU accounting.
        yield return "--cpu=" + ((long)Math.Ceiling(limits.CpuTime.TotalSeconds) + 1).ToString(CultureInfo.InvariantCulture);
        yield return "--fsize=" + limits.MaxFileSizeBytes.ToString(CultureInfo.InvariantCulture);
        yield return "--nofile=" + limits.MaxOpenFiles.ToString(CultureInfo.InvariantCulture);
        yield return "--core=0";
        yield return "--stack=" + limits.StackBytes.ToString(CultureInfo.InvariantCulture);
        yield return "--";

        yield return _options.SetprivPath;
        if (_isRoot)
        {
            yield return "--reuid=" + _options.Uid.ToString(CultureInfo.InvariantCulture);
            yield return "--regid=" + _options.Gid.ToString(CultureInfo.InvariantCulture);
            yield return "--clear-groups";
        }

        yield return "--no-new-privs";
        yield return "--";

        foreach (var argument in BuildBwrapArguments(spec, workspace, new LauncherFiles()))
        {
            yield return argument;
        }
    }

    internal IEnumerable<string> BuildBwrapArguments(SandboxSpec spec, string workspace, LauncherFiles files)
    {
        var uid = SandboxUid.ToString(CultureInfo.InvariantCulture);
        string[] isolation =
        [
            _options.BwrapPath,
            "--unshare-all", "--unshare-user", "--disable-userns",
            "--uid", uid, "--gid", uid,
            "--hostname", _options.Hostname,
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--clearenv",
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

        foreach (var argument in _mounts.Arguments(spec, workspace, files))
        {
            yield return argument;
        }

        yield return "--json-status-fd";
        yield return "3";
        yield return "--";

        foreach (var argument in spec.Command)
        {
            yield return argument;
        }
    }

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
    /// A private folder for the synthetic /etc files and the per-run status files: random name, owned
    /// by the host process, readable (not writable) by the sandbox uid that bwrap runs as.
    /// </summary>
    private string CreateRuntimeDirectory()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("bubblewrap sandboxes need Linux.");
        }

        var directory = Directory.CreateTempSubdirectory("iris-sandbox-").FullName;
        const UnixFileMode Readable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.SetUnixFileMode(directory, Readable | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);

        var files = _mounts.SyntheticEtcFiles(SandboxUid);
        foreach (var (name, content) in files)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, content);
            File.SetUnixFileMode(path, Readable);
        }

        return directory;
    }

    public void Dispose()
    {
        if (_runtimeDirectory.IsValueCreated)
        {
            try
            {
                Directory.Delete(_runtimeDirectory.Value, recursive: true);
            }
            catch (IOException)
            {
                // A run still in teardown holds its status file; the temp folder is cleaned by the OS eventually.
            }
        }
    }
}

/// <summary>Hands a workspace to the sandbox uid without ever following a link.</summary>
internal static class WorkspaceOwnership
{
    /// <remarks>
    /// Links are re-owned themselves (lchown) and never descended into, so a link planted by an
    /// earlier stage of the same run cannot make us chown a host file. Hard links to files the sandbox
    /// does not own are prevented by fs.protected_hardlinks (checked at start-up).
    /// </remarks>
    public static void GiveTo(string workspace, uint uid, uint gid)
    {
        var root = new DirectoryInfo(workspace);
        if (!root.Exists || root.LinkTarget is not null)
        {
            throw new ArgumentException($"The workspace {workspace} must be an existing folder, not a link.", nameof(workspace));
        }

        Chown(root.FullName, uid, gid);
        Walk(root, uid, gid);
    }

    private static void Walk(DirectoryInfo directory, uint uid, uint gid)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos())
        {
            Chown(entry.FullName, uid, gid);
            if (entry is DirectoryInfo child && child.LinkTarget is null && !child.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                Walk(child, uid, gid);
            }
        }
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        if (Interop.LChown(path, uid, gid) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"lchown {path} failed (errno {errno}).", errno);
        }
    }
}
