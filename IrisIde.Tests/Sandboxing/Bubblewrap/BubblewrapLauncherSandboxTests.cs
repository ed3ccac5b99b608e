using System.Text.Json;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// The launcher builds a prepared root's sandbox itself (iris-launch run --contain) in place of bwrap: what a program
/// sees and may do there is what it sees and may do in the sandbox bwrap builds from the same root — ids and their
/// maps, capabilities, no_new_privs, the seccomp filter, namespaces, mounts and their flags, /proc's masks, /dev, /tmp,
/// host name, environment, descriptors, session, limits, loopback. Both are built here, side by side, and compared.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class BubblewrapLauncherSandboxTests : IDisposable
{
    private const int Uid = 63200;
    private const int UidCount = 4;
    private readonly string _cgroupParent = "iris-tests-" + Guid.NewGuid().ToString("N")[..8];
    private readonly List<BubblewrapSandbox> _sandboxes = [];

    // Everything of the sandbox a program can look at without privilege, as JSON.
    private const string Probe = """
        import ctypes, json, os, resource, socket, stat
        libc = ctypes.CDLL(None, use_errno=True)
        def unshare(flags):
            return 'ok' if libc.unshare(flags) == 0 else os.strerror(ctypes.get_errno())
        def read(path, size=1 << 20):
            try:
                with open(path, 'rb') as f:
                    return f.read(size).decode('latin-1')
            except OSError as e:
                return 'error: ' + e.strerror
        def attempt(action):
            try:
                action()
                return 'ok'
            except OSError as e:
                return 'error: ' + e.strerror
        def listing(path):
            try:
                return sorted(os.listdir(path))
            except OSError as e:
                return 'error: ' + e.strerror
        def describe(path):
            s = os.lstat(path)
            return [stat.filemode(s.st_mode), s.st_uid, s.st_gid]
        status = dict(line.split(':\t', 1) for line in read('/proc/self/status').splitlines() if ':\t' in line)
        def loopback():
            with socket.socket() as server:
                server.bind(('127.0.0.1', 0))
                server.listen()
                with socket.create_connection(server.getsockname()):
                    pass
        mounts = []
        for line in read('/proc/self/mountinfo').splitlines():
            fields = line.split(' ')
            tail = line.split(' - ')[1].split(' ')
            mounts.append({'root': fields[3], 'point': fields[4], 'options': fields[5], 'type': tail[0], 'source': tail[1], 'super': tail[2]})
        print(json.dumps({
            'ids': [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), os.getgroups()],
            'maps': [read('/proc/self/uid_map'), read('/proc/self/gid_map'), read('/proc/self/setgroups')],
            'status': {k: status.get(k, '').strip() for k in ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters', 'SigBlk', 'SigIgn']},
            'process': [os.getpid(), os.getppid(), os.getsid(0) == os.getpid(), os.getpgid(0) == os.getpid(), os.umask(0o22)],
            'pid1': read('/proc/1/cmdline'),
            'pid1_fds': listing('/proc/1/fd'),
            'fds': listing('/proc/self/fd'),
            'host': [os.uname().nodename, read('/proc/sys/kernel/domainname')],
            'cwd': os.getcwd(),
            'environment': sorted(os.environ.items()),
            'limits': [resource.getrlimit(getattr(resource, n)) for n in ['RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE', 'RLIMIT_STACK', 'RLIMIT_NPROC']],
            'namespaces': {n: os.readlink('/proc/self/ns/' + n) for n in ['user', 'mnt', 'pid', 'ipc', 'uts', 'net', 'cgroup']},
            'cgroup': read('/proc/self/cgroup'),
            'mounts': mounts,
            'folders': {p: describe(p) for p in ['/', '/tmp', '/dev/shm', '/dev', '/proc', '/workspace', '/dev/null', '/.iris/init']},
            'dev': listing('/dev'),
            'proc': {n: read('/proc/' + n, 64) for n in ['kcore', 'keys', 'sysrq-trigger', 'kallsyms', 'cmdline', 'sys/kernel/random/boot_id']},
            'proc_folders': {n: listing('/proc/' + n) for n in ['acpi', 'bus', 'driver', 'fs', 'irq', 'scsi']},
            'writes': {p: attempt(lambda p=p: open(p, 'w').close()) for p in ['/probe', '/usr/probe', '/tmp/probe', '/dev/shm/probe', '/workspace/probe', '/proc/sys/kernel/hostname']},
            'loopback': attempt(loopback),
            'user_namespaces': [read('/proc/sys/user/max_user_namespaces'), unshare(0x10000000), unshare(0x00020000)],
        }))
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_program_sees_and_may_do_the_same_in_the_launchers_sandbox_as_in_bwraps(bool reuseNetworkNamespaces)
    {
        var launcher = await ProbeAsync(NewSandbox(launcherBuildsSandbox: true, reuseNetworkNamespaces, Uid));
        var bwrap = await ProbeAsync(NewSandbox(launcherBuildsSandbox: false, reuseNetworkNamespaces, Uid + 2));

        // Not a vacuous comparison: the things that matter hold in the launcher's sandbox on their own.
        Assert.Equal("[1000,1000,1000,1000,[]]", launcher.GetProperty("ids").GetRawText().Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("0000000000000000", launcher.GetProperty("status").GetProperty("CapBnd").GetString());
        Assert.Equal("0000000000000000", launcher.GetProperty("status").GetProperty("CapEff").GetString());
        Assert.Equal("1", launcher.GetProperty("status").GetProperty("NoNewPrivs").GetString());
        Assert.Equal("2", launcher.GetProperty("status").GetProperty("Seccomp").GetString());
        Assert.Equal("iris", launcher.GetProperty("host")[0].GetString());
        Assert.Equal("ok", launcher.GetProperty("loopback").GetString());
        // Neither a user namespace nor a mount namespace can be made (the seccomp filter refuses both).
        Assert.Equal(["Operation not permitted", "Operation not permitted"], launcher.GetProperty("user_namespaces").EnumerateArray().Skip(1).Select(e => e.GetString()));
        Assert.Equal("/.iris/init\u00004\u0000", launcher.GetProperty("pid1").GetString());
        Assert.Equal("[2,1,true,true,18]", launcher.GetProperty("process").GetRawText().Replace(" ", "", StringComparison.Ordinal));
        Assert.Equal("ok", launcher.GetProperty("writes").GetProperty("/workspace/probe").GetString());
        Assert.StartsWith("error", launcher.GetProperty("writes").GetProperty("/probe").GetString(), StringComparison.Ordinal);
        var host = File.ReadAllText("/proc/self/cgroup");
        foreach (var space in launcher.GetProperty("namespaces").EnumerateObject())
        {
            Assert.NotEqual(File.ResolveLinkTarget("/proc/self/ns/" + space.Name, returnFinalTarget: false)!.FullName, space.Value.GetString());
        }

        // Everything else, field by field; namespaces are each run's own, so only their kinds compare.
        foreach (var field in launcher.EnumerateObject().Where(field => field.Name != "namespaces"))
        {
            Assert.True(Normalise(field.Value) == Normalise(bwrap.GetProperty(field.Name)), Difference(field.Name, field.Value, bwrap.GetProperty(field.Name)));
        }

        Assert.NotEqual(host, launcher.GetProperty("cgroup").GetString());
    }

    /// <summary>
    /// The JSON with what names one run left out: its host workspace folder (in the workspace's mount line) and its host
    /// uid (the owner a tmpfs shows in its options), each sandbox's from a range of its own.
    /// </summary>
    private static string Normalise(JsonElement value) =>
        System.Text.RegularExpressions.Regex.Replace(
            System.Text.RegularExpressions.Regex.Replace(value.GetRawText(), "iris-sandbox-test-[0-9a-f]+", "WORKSPACE"),
            "uid=6320[0-3],gid=6320[0-3]", "uid=RUN,gid=RUN");

    /// <summary>What differs, element by element for a list (the mount table is long).</summary>
    private static string Difference(string name, JsonElement launcher, JsonElement bwrap)
    {
        if (launcher.ValueKind != JsonValueKind.Array || bwrap.ValueKind != JsonValueKind.Array)
        {
            return $"{name} differs:\nlauncher: {Normalise(launcher)}\nbwrap:    {Normalise(bwrap)}";
        }

        var ours = launcher.EnumerateArray().Select(Normalise).ToList();
        var theirs = bwrap.EnumerateArray().Select(Normalise).ToList();
        return $"{name} differs:\nonly the launcher's: {string.Join("\n  ", ours.Except(theirs))}\nonly bwrap's: {string.Join("\n  ", theirs.Except(ours))}"
            + $"\n({ours.Count} against {theirs.Count}; same elements in another order when nothing is listed)";
    }

    private BubblewrapSandbox NewSandbox(bool launcherBuildsSandbox, bool reuseNetworkNamespaces, int uid)
    {
        var options = new BubblewrapOptions
        {
            Uid = uid,
            UidCount = 2,
            WarmSandboxes = 0,
            CgroupParent = _cgroupParent,
            LauncherBuildsSandbox = launcherBuildsSandbox,
            ReuseNetworkNamespaces = reuseNetworkNamespaces,
        };
        var sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(options), SandboxRunner.HostCapacity, NullLogger<BubblewrapSandbox>.Instance);
        _sandboxes.Add(sandbox);
        return sandbox;
    }

    private static async Task<JsonElement> ProbeAsync(BubblewrapSandbox sandbox)
    {
        using var workspace = new TestWorkspace();
        workspace.Write("probe.py", Probe);
        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "probe.py"]);
        Assert.True(run.Result.Verdict == Verdict.Ok, $"{run.Result.Verdict}: {run.Result.Message} {run.Stderr}");
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }

    public void Dispose()
    {
        foreach (var sandbox in _sandboxes)
        {
            sandbox.Dispose();
        }

        BubblewrapSandboxFixture.DeleteParent(_cgroupParent);
    }
}
