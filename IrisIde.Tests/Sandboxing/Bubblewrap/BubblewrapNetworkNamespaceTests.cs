using System.Text;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// Runs join network namespaces made ahead (real bubblewrap, real namespaces): one run at a time each, so two runs at
/// once cannot reach each other over the loopback or an abstract unix socket, and a run after another finds nothing of
/// it there.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class BubblewrapNetworkNamespaceTests : IAsyncLifetime
{
    // A range of its own (see BubblewrapSandboxFixture): these tests count the processes of their uids.
    private const int Uid = 65440;
    private const int UidCount = 4;

    /// <summary>Binds an abstract unix socket and a loopback port, says so, then tries the other side's of each.</summary>
    private const string Program = """
        import os, socket, sys, time
        print(os.readlink('/proc/self/ns/net'), flush=True)
        name, port = b'\0iris-netns-test', 47311
        found = []
        for family, address in ((socket.AF_UNIX, name), (socket.AF_INET, ('127.0.0.1', port))):
            probe = socket.socket(family, socket.SOCK_STREAM)
            try:
                probe.connect(address)
                found.append('reached ' + str(family))
            except OSError:
                pass
        print('found: ' + ','.join(found), flush=True)
        listeners = []
        for family, address in ((socket.AF_UNIX, name), (socket.AF_INET, ('127.0.0.1', port))):
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.bind(address)
            listener.listen()
            listeners.append(listener)
        print('listening', flush=True)
        time.sleep(float(sys.argv[1]))
        """;

    private readonly string _cgroupParent = "iris-netns-tests-" + Guid.NewGuid().ToString("N")[..8];
    private BubblewrapSandbox _sandbox = default!;

    public Task InitializeAsync()
    {
        // No sandboxes kept ready: each run is a cold start, so the namespace a run gives back is the next run's.
        var options = new BubblewrapOptions { Uid = Uid, UidCount = UidCount, CgroupParent = _cgroupParent, WarmSandboxes = 0 };
        _sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(options), SandboxRunner.HostCapacity, NullLogger<BubblewrapSandbox>.Instance);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _sandbox.DisposeAsync();
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
    }

    [Fact]
    public async Task Two_runs_at_once_are_in_namespaces_of_their_own_and_cannot_reach_each_other()
    {
        using var first = new TestWorkspace();
        await using var listening = await _sandbox.StartAsync(new SandboxSpec(["python3", "-c", Program, "30"], first.Path, SandboxRunner.DefaultLimits), CancellationToken.None)
            .WaitAsync(SandboxRunner.Timeout);
        var lines = new StreamReader(listening.StandardOutput, Encoding.UTF8);
        var firstNamespace = await lines.ReadLineAsync().WaitAsync(SandboxRunner.Timeout) ?? string.Empty;
        Assert.Equal("found: ", await lines.ReadLineAsync().WaitAsync(SandboxRunner.Timeout));
        Assert.Equal("listening", await lines.ReadLineAsync().WaitAsync(SandboxRunner.Timeout));

        using var second = new TestWorkspace();
        var run = await SandboxRunner.RunAsync(_sandbox, second, ["python3", "-c", Program, "0"]);
        listening.Kill(Verdict.Killed);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var output = run.Stdout.Split('\n');
        Assert.NotEqual(firstNamespace, output[0]);
        Assert.Equal("found: ", output[1]);
        Assert.Equal("listening", output[2]);
        Assert.Contains(firstNamespace, NamespacesHeldByThisProcess());
        Assert.Contains(output[0], NamespacesHeldByThisProcess());
    }

    [Fact]
    public async Task A_run_after_another_gets_its_namespace_with_nothing_of_it_left()
    {
        using var first = new TestWorkspace();
        var before = await SandboxRunner.RunAsync(_sandbox, first, ["python3", "-c", Program, "0"]);
        using var second = new TestWorkspace();
        var after = await SandboxRunner.RunAsync(_sandbox, second, ["python3", "-c", Program, "0"]);

        Assert.Equal(Verdict.Ok, before.Result.Verdict);
        Assert.Equal(Verdict.Ok, after.Result.Verdict);
        var (beforeLines, afterLines) = (before.Stdout.Split('\n'), after.Stdout.Split('\n'));

        // The same namespace (made once, held by this process), and the first run's listeners went with its processes.
        Assert.Equal(beforeLines[0], afterLines[0]);
        Assert.Contains(afterLines[0], NamespacesHeldByThisProcess());
        Assert.Equal("found: ", afterLines[1]);
        Assert.Equal("listening", afterLines[2]);
    }

    [Fact]
    public async Task The_loopback_is_up_and_the_program_cannot_change_the_namespace()
    {
        using var workspace = new TestWorkspace();
        const string Script = """
            import fcntl, socket, struct
            control = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            flags = struct.unpack('16sh22x', fcntl.ioctl(control, 0x8913, struct.pack('16sh22x', b'lo', 0)))[1]
            print('lo up' if flags & 1 else 'lo down')
            try:
                fcntl.ioctl(control, 0x8914, struct.pack('16sh22x', b'lo', 0))
                print('lo taken down')
            except OSError as error:
                print('refused', error.errno)
            server = socket.socket()
            server.bind(('127.0.0.1', 0))
            server.listen()
            socket.create_connection(server.getsockname())
            print('loopback works')
            """;

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", Script]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("lo up\nrefused 1\nloopback works\n", run.Stdout);
    }

    /// <summary>The network namespaces this process holds descriptors of: the pool's.</summary>
    private static HashSet<string> NamespacesHeldByThisProcess()
    {
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(descriptor).LinkTarget is { } target && target.StartsWith("net:[", StringComparison.Ordinal))
                {
                    held.Add(target);
                }
            }
            catch (IOException)
            {
                // Closed while we looked.
            }
        }

        return held;
    }
}
