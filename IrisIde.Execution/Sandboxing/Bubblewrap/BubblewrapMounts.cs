using System.Collections.Concurrent;
using System.Globalization;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing.Launcher;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// What a run sees of the host's file system: the bwrap arguments that build the sandbox's root —
/// a small base set and the run's toolchain read-only (<see cref="HostPathView"/>), synthetic /etc
/// files copied in by descriptor, private /proc (with the files Docker masks masked), /dev, /tmp,
/// /dev/shm, and the workspace. As root (<see cref="BubblewrapOptions.PrepareRoots"/>) the read-only part is
/// a <see cref="PreparedRoot"/> made once per kind of run and bound whole; otherwise bwrap builds it every run.
/// </summary>
/// <remarks>
/// What a program can still learn of the host, and why: every bind's line in
/// <c>/proc/self/mountinfo</c> names the host's block device and file system (bubblewrap cannot hide
/// the source of a bind mount); the bound paths themselves are where the sandbox shows them, so they
/// name nothing the program cannot list anyway. The kernel's version, CPUs and memory stay readable
/// (runtimes size themselves from them).
/// </remarks>
/// <param name="canPrepareRoots">
/// Whether this process may make roots (mount, mknod: root only); with false, and with
/// <see cref="BubblewrapOptions.PrepareRoots"/> off, bwrap builds every run's root.
/// </param>
/// <param name="logger">Where roots made, not made and not removed are reported.</param>
internal sealed class BubblewrapMounts(BubblewrapOptions options, Func<string> runtimeDirectory, bool canPrepareRoots, ILogger logger) : IDisposable
{
    /// <summary>Under the runtime directory: the prepared roots' mount points.</summary>
    internal const string RootsFolder = "roots";

    /// <summary>What each run mounts itself, on empty folders of a prepared root.</summary>
    private static readonly string[] RunMountPoints = ["/proc", "/dev/shm", "/tmp", SandboxSpec.SandboxWorkspacePath];

    /// <summary>
    /// What every run sees besides its toolchain: the dynamic loader, its cache and the shared
    /// libraries (with the C runtime's crt files, gconv, and the native parts of perl and ruby);
    /// C.UTF-8 and time zones; <c>/bin/sh</c>, because custom commands and TypeScript's compile step
    /// are <c>sh -c</c>, and the handful of tools a one-liner uses. Not <c>/usr/bin</c>, <c>/usr/sbin</c>,
    /// <c>/usr/local</c>, other runtimes or services.
    /// </summary>
    internal static readonly string[] BasePaths =
    [
        "/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/etc/ld.so.cache",
        "/usr/lib/locale", "/usr/share/zoneinfo", "/etc/localtime",
        "/bin/sh", "/usr/bin/cat", "/usr/bin/cp", "/usr/bin/env", "/usr/bin/head", "/usr/bin/id", "/usr/bin/ls", "/usr/bin/mkdir",
        "/usr/bin/mv", "/usr/bin/rm", "/usr/bin/sleep", "/usr/bin/tail", "/usr/bin/touch", "/usr/bin/wc",
    ];

    /// <summary>
    /// /proc files masked (an unreadable <c>/dev/null</c> on top) because they show the host, not the
    /// run: Docker's masked paths (kernel memory, others' keys, timers and scheduler state of every
    /// process) plus the kernel's build configuration, command line, symbols, log and modules, and the
    /// boot id that identifies this host's boot across runs. Only those this kernel has are masked.
    /// </summary>
    internal static readonly string[] MaskedProcFiles =
    [
        "kcore", "keys", "key-users", "timer_list", "timer_stats", "sched_debug", "latency_stats", "config.gz",
        "sysrq-trigger", "kallsyms", "kmsg", "modules", "cmdline", "sys/kernel/random/boot_id",
    ];

    /// <summary>
    /// /proc folders of host hardware and drivers, replaced by an empty read-only folder (Docker masks
    /// acpi, asound and scsi); one this kernel leaves empty costs no mount.
    /// </summary>
    internal static readonly string[] MaskedProcDirectories = ["acpi", "asound", "bus", "driver", "fs", "irq", "scsi"];

    private static readonly string[] SyntheticEtcFileNames = ["passwd", "group", "hosts"];

    private static readonly Lazy<IReadOnlyList<string>> CatalogueToolchains = new(() =>
        [.. LanguageCatalog.LoadEmbedded().All.SelectMany(language => language.Toolchain).Distinct(StringComparer.Ordinal)]);

    // Resolving walks every component of every path; a run reuses its language's answer. A toolchain
    // installed later is seen after a restart, as the language availability probe is.
    private readonly ConcurrentDictionary<string, HostPathView> _views = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<PreparedRoot?>> _roots = new(StringComparer.Ordinal);
    private int _rootCount;
    private bool _disposed;
    private readonly Lazy<(string[] Files, string[] Directories)> _procMasks = new(() =>
        ([.. MaskedProcFiles.Where(name => File.Exists("/proc/" + name))],
         [.. MaskedProcDirectories.Where(name => Directory.Exists("/proc/" + name) && Directory.EnumerateFileSystemEntries("/proc/" + name).Any())]));

    /// <summary>The /proc files and folders this kernel has of <see cref="MaskedProcFiles"/> and <see cref="MaskedProcDirectories"/>.</summary>
    internal (string[] Files, string[] Directories) ProcMasks => _procMasks.Value;

    /// <summary>The synthetic files of the sandbox's /etc, by name; written once into the runtime directory.</summary>
    public IReadOnlyDictionary<string, string> SyntheticEtcFiles(int sandboxUid)
    {
        var uid = sandboxUid.ToString(CultureInfo.InvariantCulture);
        return new Dictionary<string, string>
        {
            ["passwd"] = $"root:x:0:0:root:/root:/usr/sbin/nologin\niris:x:{uid}:{uid}:iris:{SandboxSpec.SandboxWorkspacePath}:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
            ["group"] = $"root:x:0:\niris:x:{uid}:\nnogroup:x:65534:\n",
            ["hosts"] = $"127.0.0.1\tlocalhost {options.Hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        };
    }

    /// <summary>The host paths a run with <paramref name="toolchain"/> sees (null: every catalogue language's).</summary>
    internal HostPathView View(IReadOnlyList<string>? toolchain) =>
        _views.GetOrAdd(ViewKey(toolchain), _ => HostPathView.Resolve(BasePaths.Concat(toolchain ?? CatalogueToolchains.Value)));

    /// <summary>
    /// The prepared root for runs with <paramref name="toolchain"/>, made by the first such run; null when roots are
    /// not prepared here or this one could not be made (then every run of the kind has bwrap build its root).
    /// </summary>
    internal PreparedRoot? Root(IReadOnlyList<string>? toolchain)
    {
        if (!canPrepareRoots || !options.PrepareRoots)
        {
            return null;
        }

        var key = ViewKey(toolchain);
        return _roots.GetOrAdd(key, _ => new Lazy<PreparedRoot?>(() => TryPrepare(toolchain))).Value;
    }

    /// <summary>
    /// Detaches the prepared roots (runs that hold one keep their copy). One that cannot be detached is logged and left
    /// to the runtime folder's removal, which unmounts whatever is left in it.
    /// </summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, true);
        foreach (var root in _roots.Values)
        {
            if (root.IsValueCreated && root.Value is { } prepared)
            {
                try
                {
                    prepared.Dispose();
                }
                catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
                {
                    BubblewrapSandboxLog.RootNotRemoved(logger, prepared.Path, exception);
                }
            }
        }
    }

    private static string ViewKey(IReadOnlyList<string>? toolchain) => toolchain is null ? "\0catalogue" : string.Join('\n', toolchain);

    private PreparedRoot? TryPrepare(IReadOnlyList<string>? toolchain)
    {
        var folder = Path.Combine(runtimeDirectory(), RootsFolder);
        var path = Path.Combine(folder, Interlocked.Increment(ref _rootCount).ToString(CultureInfo.InvariantCulture));
        try
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }

            // bwrap, as the run's uid, must reach the roots; nobody may list them.
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
            const UnixFileMode ReadOnly = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
            const UnixFileMode Executable = ReadOnly | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            List<(string, string, UnixFileMode)> files =
            [
                .. SyntheticEtcFileNames.Select(name => ("/etc/" + name, Path.Combine(runtimeDirectory(), name), ReadOnly)),
                (BubblewrapSandbox.InitPath, options.LauncherPath, Executable),
            ];
            var root = PreparedRoot.Create(path, View(toolchain), files, options.ExtraReadOnlyBinds, RunMountPoints);
            BubblewrapSandboxLog.RootPrepared(logger, path, toolchain?.Count ?? -1);
            if (Volatile.Read(ref _disposed))
            {
                // Disposed while this one was being made: nobody else will detach it.
                root.Dispose();
                return null;
            }

            return root;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            BubblewrapSandboxLog.RootNotPrepared(logger, path, exception);
            return null;
        }
    }

    /// <summary>
    /// The mount arguments, in order. Host files bwrap must read by descriptor are registered with
    /// <paramref name="files"/>, which the launcher opens before it execs bwrap.
    /// </summary>
    /// <param name="root">The run's prepared root (<see cref="Root"/>); null: bwrap builds the root.</param>
    public IEnumerable<string> Arguments(SandboxSpec spec, string workspace, LauncherFiles files, PreparedRoot? root = null)
    {
        if (root is not null)
        {
            // Its mounts carry their flags already (read-only and nosuid; nodev too but on the root's own tmpfs, which
            // holds the device nodes), which --dev-bind keeps as they are: bwrap reads the mount table once and remounts
            // nothing. (--ro-bind would add nodev, and /dev/null would no longer open.)
            yield return "--dev-bind";
            yield return root.Path;
            yield return "/";
        }
        else
        {
            foreach (var argument in BuiltRoot(spec, files))
            {
                yield return argument;
            }
        }

        foreach (var argument in RunMounts(workspace, ownDev: root is null))
        {
            yield return argument;
        }

        if (root is null)
        {
            // The root is bwrap's own tmpfs; read-only so the workspace and /tmp stay the only writable places.
            yield return "--remount-ro";
            yield return "/";
        }
    }

    /// <summary>What a prepared root holds, for bwrap to build in its own tmpfs root.</summary>
    private IEnumerable<string> BuiltRoot(SandboxSpec spec, LauncherFiles files)
    {
        // A copy in the sandbox's root, not a bind: no host path of it shows in mountinfo.
        yield return "--perms";
        yield return "0555";
        yield return "--file";
        yield return files.OpenReadOnly(options.LauncherPath).ToString(CultureInfo.InvariantCulture);
        yield return BubblewrapSandbox.InitPath;

        var view = View(spec.ToolchainPaths);
        foreach (var path in view.Binds)
        {
            // --ro-bind-try: a path removed since it was resolved (a package upgrade) fails only the run that needs it.
            yield return "--ro-bind-try";
            yield return path;
            yield return path;
        }

        foreach (var (location, target) in view.Symlinks)
        {
            yield return "--symlink";
            yield return target;
            yield return location;
        }

        // Copies in the root's tmpfs, read by descriptor: no mount, so no host path in mountinfo.
        foreach (var name in SyntheticEtcFileNames)
        {
            yield return "--perms";
            yield return "0444";
            yield return "--file";
            yield return files.OpenReadOnly(Path.Combine(runtimeDirectory(), name)).ToString(CultureInfo.InvariantCulture);
            yield return "/etc/" + name;
        }

        foreach (var bind in options.ExtraReadOnlyBinds)
        {
            yield return bind.Optional ? "--ro-bind-try" : "--ro-bind";
            yield return bind.Source;
            yield return string.IsNullOrEmpty(bind.Target) ? bind.Source : bind.Target;
        }
    }

    /// <summary>Each run's own: /proc with its masks, /dev (unless the root has it), /dev/shm, /tmp and the workspace.</summary>
    private IEnumerable<string> RunMounts(string workspace, bool ownDev)
    {
        var tmpfsSize = options.TmpfsSizeBytes.ToString(CultureInfo.InvariantCulture);
        yield return "--proc";
        yield return "/proc";
        var (maskedFiles, maskedDirectories) = ProcMasks;
        foreach (var name in maskedFiles)
        {
            yield return "--ro-bind";
            yield return "/dev/null";
            yield return "/proc/" + name;
        }

        foreach (var name in maskedDirectories)
        {
            yield return "--perms";
            yield return "0555";
            yield return "--size";
            yield return "4096";
            yield return "--tmpfs";
            yield return "/proc/" + name;
            yield return "--remount-ro";
            yield return "/proc/" + name;
        }

        if (ownDev)
        {
            yield return "--dev";
            yield return "/dev";
        }

        string[] filesystems =
        [
            "--size", tmpfsSize, "--tmpfs", "/dev/shm",
            "--size", tmpfsSize, "--perms", "1777", "--tmpfs", "/tmp",
            "--bind", workspace, SandboxSpec.SandboxWorkspacePath,
            "--chdir", SandboxSpec.SandboxWorkspacePath,
        ];
        foreach (var argument in filesystems)
        {
            yield return argument;
        }
    }
}
