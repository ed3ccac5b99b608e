using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Workspaces;
using IrisIde.Tests.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// Each kind of run's read-only root is made once and bound whole (real bubblewrap, real mounts): runs of a kind share
/// one, a run sees exactly what a root bwrap builds itself would show, cannot change it, and nothing of it outlives the
/// server — not even a crashed server's, and sweeping that never touches the host files it showed.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class BubblewrapPreparedRootTests : IAsyncLifetime
{
    // A range of its own (see BubblewrapSandboxFixture): these tests count the processes of their uids.
    private const int Uid = 65460;
    private const int UidCount = 4;

    /// <summary>Lists the sandbox's file tree outside /proc, /dev, /tmp and the workspace: path, kind, mode, link target.</summary>
    private const string TreeProbe = """
        import os, stat
        skip = {'/proc', '/dev', '/tmp', '/workspace'}
        def walk(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if full in skip:
                    continue
                info = os.lstat(full)
                kind = 'l' if stat.S_ISLNK(info.st_mode) else 'd' if stat.S_ISDIR(info.st_mode) else 'f'
                print(full, kind, oct(stat.S_IMODE(info.st_mode)), os.readlink(full) if kind == 'l' else '')
                if kind == 'd' and full.count('/') < 4:
                    walk(full)
        walk('/')
        """;

    private readonly string _cgroupParent = "iris-root-tests-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<BubblewrapSandbox> _sandboxes = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var sandbox in _sandboxes)
        {
            await sandbox.DisposeAsync();
        }

        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
    }

    [Fact]
    public async Task Runs_of_a_kind_share_one_root_made_by_the_first_and_the_server_detaches_them_all_when_it_ends()
    {
        var sandbox = NewSandbox();
        var python = Toolchain("python");
        using var workspace = new TestWorkspace();

        var first = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", "print('one')"], toolchain: python);
        var second = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", "print('two')"], toolchain: python);
        var roots = RootsFolder(sandbox);
        var afterPython = RootsMountedUnder(roots);
        var other = await SandboxRunner.RunAsync(sandbox, workspace, ["sh", "-c", "echo three"], toolchain: Toolchain("c"));

        Assert.Equal(("one\n", "two\n", "three\n"), (first.Stdout, second.Stdout, other.Stdout));
        Assert.Single(afterPython);
        Assert.Equal(2, RootsMountedUnder(roots).Count);
        await sandbox.DisposeAsync();
        Assert.Empty(MountTable.MountPointsUnder(roots));
        Assert.False(Directory.Exists(roots));
    }

    [Fact]
    public async Task A_run_sees_the_same_tree_in_a_prepared_root_as_in_one_bwrap_builds()
    {
        var prepared = NewSandbox();
        var built = NewSandbox(prepareRoots: false);
        var python = Toolchain("python");
        using var workspace = new TestWorkspace();

        var inPrepared = await SandboxRunner.RunAsync(prepared, workspace, ["python3", "-c", TreeProbe], toolchain: python);
        var inBuilt = await SandboxRunner.RunAsync(built, workspace, ["python3", "-c", TreeProbe], toolchain: python);

        Assert.Single(RootsMountedUnder(RootsFolder(prepared)));
        Assert.Empty(RootsMountedUnder(RootsFolder(built)));
        Assert.Equal(Verdict.Ok, inPrepared.Result.Verdict);
        Assert.Contains("/usr/bin/python3 l ", inPrepared.Stdout, StringComparison.Ordinal);
        Assert.Contains("/.iris/init f 0o555", inPrepared.Stdout, StringComparison.Ordinal);
        // The one difference: bwrap makes the folders on the way to its binds (/etc, /usr, /usr/bin …) 0700 and the
        // run's own; a prepared root's are the host root's, 0755.
        Assert.Equal(inBuilt.Stdout.Replace(" d 0o700 \n", " d 0o755 \n", StringComparison.Ordinal), inPrepared.Stdout);
    }

    [Fact]
    public async Task Where_a_root_cannot_be_made_bwrap_builds_it_and_the_log_says_so_once()
    {
        using var logs = new CapturedLogs();
        var sandbox = NewSandbox(logs: logs);
        // A file where the roots' folder would go: no root can be made in this runtime folder.
        await File.WriteAllTextAsync(RootsFolder(sandbox), "in the way");
        using var workspace = new TestWorkspace();

        var first = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", "print('one')"], toolchain: Toolchain("python"));
        var second = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", "print('two')"], toolchain: Toolchain("python"));

        Assert.Equal(("one\n", "two\n"), (first.Stdout, second.Stdout));
        Assert.Empty(MountTable.MountPointsUnder(RootsFolder(sandbox)));
        Assert.Single(logs.Entries, entry => entry.StartsWith("Warning", StringComparison.Ordinal) && entry.Contains("[1017]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_program_cannot_change_its_root_nor_what_it_shows_of_the_host()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        const string Program = """
            import os
            for attempt in (lambda: open('/etc/passwd', 'a'), lambda: open('/usr/bin/python3.11', 'r+b'), lambda: os.mkdir('/new'),
                            lambda: open('/.iris/init', 'wb'), lambda: os.symlink('/workspace', '/usr/lib/python3.11/x'),
                            lambda: os.chmod('/etc/hosts', 0o666), lambda: os.unlink('/bin')):
                try:
                    attempt()
                    print('changed')
                except OSError as error:
                    print(error.errno)
            """;

        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", Program], toolchain: Toolchain("python"));

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        // Each refused with an errno (EROFS, EACCES, EPERM: whichever the kernel checks first), none done.
        var results = run.Stdout.TrimEnd().Split('\n');
        Assert.Equal(7, results.Length);
        Assert.All(results, line => Assert.True(int.TryParse(line, out var errno) && errno > 0, line));
    }

    [Fact]
    public async Task Dev_has_the_usual_devices_and_links_and_nothing_can_be_added_to_it()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        const string Program = """
            import os
            print(sorted(os.listdir('/dev')))
            with open('/dev/null', 'w') as null:
                print(null.write('gone'))
            print(len(open('/dev/urandom', 'rb').read(16)), open('/dev/zero', 'rb').read(2))
            try:
                with open('/dev/full', 'wb', buffering=0) as full:
                    full.write(b'x')
            except OSError as error:
                print('full', error.errno)
            print(os.readlink('/dev/stdout'), os.readlink('/dev/fd'))
            for attempt in (lambda: open('/dev/mine', 'w'), lambda: os.mkdir('/dev/pts')):
                try:
                    attempt()
                    print('changed')
                except OSError as error:
                    print(error.errno > 0)
            with open('/dev/shm/x', 'w') as shared:
                print(shared.write('ok'))
            """;

        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", Program], toolchain: Toolchain("python"));

        Assert.True(run.Result.Verdict == Verdict.Ok, run.Stdout + run.Stderr);
        Assert.Equal(
            "['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero']\n4\n16 b'\\x00\\x00'\nfull 28\n/proc/self/fd/1 /proc/self/fd\nTrue\nTrue\n2\n",
            run.Stdout);
    }

    [Fact]
    public async Task What_a_crashed_server_left_of_a_prepared_root_is_swept_at_start_and_the_host_files_it_showed_stay()
    {
        var state = Directory.CreateTempSubdirectory("iris-state-").FullName;
        var host = Directory.CreateTempSubdirectory("iris-root-source-").FullName;
        try
        {
            var shown = Path.Combine(host, "toolchain");
            Directory.CreateDirectory(shown);
            await File.WriteAllTextAsync(Path.Combine(shown, "compiler"), "keep me");
            var crashed = Path.Combine(state, "sandboxes", new string('b', 32));
            var path = Path.Combine(crashed, BubblewrapMounts.RootsFolder, "1");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // A server killed with its roots mounted leaves them so, and no lock.
            _ = PreparedRoot.Create(path, HostPathView.Resolve([shown]), [], [], ["/proc"]);
            Assert.Equal(2, MountTable.MountPointsUnder(crashed).Count);

            var sandbox = NewSandbox(stateDirectory: state);
            await sandbox.PrepareAsync(CancellationToken.None);

            Assert.False(Directory.Exists(crashed));
            Assert.Empty(MountTable.MountPointsUnder(crashed));
            Assert.Equal("keep me", await File.ReadAllTextAsync(Path.Combine(shown, "compiler")));
        }
        finally
        {
            Directory.Delete(host, recursive: true);
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public void A_root_never_makes_anything_outside_its_folder_and_a_failed_one_leaves_nothing()
    {
        var folder = Directory.CreateTempSubdirectory("iris-root-escape-").FullName;
        try
        {
            var path = Path.Combine(folder, "roots", "1");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var escape = new ReadOnlyBind { Source = "/usr/bin", Target = "/x/../../../escaped", Optional = false };

            Assert.Throws<IOException>(() => PreparedRoot.Create(path, HostPathView.Resolve([]), [], [escape], ["/proc"]));

            Assert.False(Path.Exists(Path.Combine(folder, "escaped")));
            Assert.False(Path.Exists(path));
            Assert.Empty(MountTable.MountPointsUnder(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void The_launcher_keeps_the_runs_root_in_its_namespace_and_leaves_the_other_roots_out()
    {
        var sandbox = NewSandbox();
        var spec = new SandboxSpec(["true"], "/srv/workspace", SandboxRunner.DefaultLimits, ToolchainPaths: Toolchain("python"));

        var arguments = sandbox.BuildLauncherArguments(spec, "/srv/workspace", [], RunStatusFiles.For("/run/unused", "r1"), uid: null).ToList();

        var root = Assert.Single(RootsMountedUnder(RootsFolder(sandbox)));
        var dropped = arguments.Select((a, i) => (a, i)).Where(x => x.a == "--drop-mounts-under").Select(x => arguments[x.i + 1]).ToList();
        var kept = arguments.Select((a, i) => (a, i)).Where(x => x.a == "--keep-mount").Select(x => arguments[x.i + 1]).ToList();
        Assert.Contains(dropped, folder => root.StartsWith(folder + "/", StringComparison.Ordinal));
        Assert.Equal(["/srv/workspace", root], kept);
        var bind = arguments.IndexOf(root, arguments.IndexOf("--") + 1);
        Assert.Equal(["--dev-bind", root, "/"], arguments[(bind - 1)..(bind + 2)]);
        Assert.DoesNotContain("--dev", arguments);
        Assert.DoesNotContain(arguments.Index(), x => x.Item == "--remount-ro" && arguments[x.Index + 1] == "/");
        Assert.DoesNotContain(BubblewrapSandbox.InitPath, arguments[..^2]);
    }

    private BubblewrapSandbox NewSandbox(bool prepareRoots = true, string? stateDirectory = null, CapturedLogs? logs = null)
    {
        // No sandboxes kept ready: a ready one would make the catalogue's root ahead of the runs.
        var options = new BubblewrapOptions
        {
            Uid = Uid,
            UidCount = UidCount,
            CgroupParent = _cgroupParent,
            WarmSandboxes = 0,
            PrepareRoots = prepareRoots,
            StateDirectory = stateDirectory,
        };
        var logger = logs is null ? NullLogger<BubblewrapSandbox>.Instance : new LoggerFactory([logs]).CreateLogger<BubblewrapSandbox>();
        var sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(options), SandboxRunner.HostCapacity, logger);
        _sandboxes.Add(sandbox);
        return sandbox;
    }

    private static IReadOnlyList<string> Toolchain(string language) => LanguageCatalog.LoadEmbedded().All.Single(l => l.Id == language).Toolchain;

    private static string RootsFolder(BubblewrapSandbox sandbox) => Path.Combine(Path.GetDirectoryName(sandbox.SlotDirectory)!, BubblewrapMounts.RootsFolder);

    /// <summary>The prepared roots' own mounts (not the binds inside them).</summary>
    private static List<string> RootsMountedUnder(string folder) =>
        [.. MountTable.MountPointsUnder(folder).Where(point => Path.GetDirectoryName(point) == folder)];
}
