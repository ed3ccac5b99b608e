using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>Programs that attack the sandbox. Each ends with a limit or an error, leaves nothing behind, and a normal run right after works.</summary>
[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed class BubblewrapSandboxHostileTests(BubblewrapSandboxFixture fixture) : IClassFixture<BubblewrapSandboxFixture>
{
    private static SandboxLimits Limits(
        double wallSeconds = 10, double cpuSeconds = 5, long memoryMiB = 256, int processes = 64, long fileMiB = 16, double cores = 1) =>
        new()
        {
            WallTime = TimeSpan.FromSeconds(wallSeconds),
            CpuTime = TimeSpan.FromSeconds(cpuSeconds),
            MemoryBytes = memoryMiB * 1024 * 1024,
            MaxProcesses = processes,
            MaxFileSizeBytes = fileMiB * 1024 * 1024,
            CpuCores = cores,
        };

    private Task<RunOutput> RunAsync(TestWorkspace workspace, string[] command, SandboxLimits? limits = null, Func<ISandboxProcess, Task>? whileRunning = null) =>
        SandboxRunner.RunAsync(fixture.Sandbox, workspace, command, limits: limits, whileRunning: whileRunning);

    [Fact]
    public async Task Sleeping_forever_ends_with_the_wall_time_limit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sleep", "1000"], Limits(wallSeconds: 1));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.Contains("Wall", run.Result.Message, StringComparison.Ordinal);
        Assert.InRange(run.Result.WallTime, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Busy_threads_end_with_the_cpu_time_limit_of_the_whole_tree()
    {
        using var workspace = new TestWorkspace();

        // Four spinning processes on two cores: the tree's CPU time grows twice as fast as the clock.
        var run = await RunAsync(workspace, ["sh", "-c", "for i in 1 2 3 4; do (while :; do :; done) & done; wait"],
            Limits(wallSeconds: 30, cpuSeconds: 1, cores: 2));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.Contains("CPU", run.Result.Message, StringComparison.Ordinal);
        Assert.True(run.Result.CpuTime >= TimeSpan.FromSeconds(1), $"cpu {run.Result.CpuTime}");
        Assert.True(run.Result.WallTime < TimeSpan.FromSeconds(5), $"wall {run.Result.WallTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Cpu_quota_holds_many_threads_to_the_configured_cores()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "for i in 1 2 3 4; do (while :; do :; done) & done; wait"],
            Limits(wallSeconds: 2, cpuSeconds: 30, cores: 0.5));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.True(run.Result.CpuTime < TimeSpan.FromSeconds(1.6), $"half a core for 2 s, got {run.Result.CpuTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Memory_bomb_ends_with_the_memory_limit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["python3", "-c", "a = []\nwhile True: a.append('x' * 10_000_000)"], Limits(memoryMiB: 64));

        Assert.Equal(Verdict.MemoryLimit, run.Result.Verdict);
        Assert.Equal("Memory limit of 64 MiB exceeded.", run.Result.Message);
        Assert.True(run.Result.PeakMemoryBytes > 32L * 1024 * 1024, $"peak {run.Result.PeakMemoryBytes}");
        Assert.True(run.Result.PeakMemoryBytes <= 65L * 1024 * 1024, $"peak {run.Result.PeakMemoryBytes}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Fork_loop_ends_with_a_limit_and_leaves_no_process()
    {
        using var workspace = new TestWorkspace();

        // Every process forks forever and shrugs off refused forks, so the tree (parent included)
        // stays alive until a limit ends it.
        const string Program = """
            import os, time
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
            """;
        var run = await RunAsync(workspace, ["python3", "-c", Program], Limits(wallSeconds: 3, processes: 32));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.True(run.Result.WallTime < TimeSpan.FromSeconds(8), $"wall {run.Result.WallTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Daemonised_grandchild_is_killed_when_the_program_ends()
    {
        using var workspace = new TestWorkspace();
        const string Program = """
            import os, time
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    os.closerange(0, 3)
                    time.sleep(1000)
                os._exit(0)
            print('parent done')
            """;

        var run = await RunAsync(workspace, ["python3", "-c", Program]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("parent done\n", run.Stdout);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Kill_all_inside_does_not_reach_host_processes_of_the_same_uid()
    {
        // A host process with the sandbox's uid, outside the sandbox: only the pid namespace protects it.
        using var outsider = Process.Start(new ProcessStartInfo("/usr/bin/setpriv",
            ["--reuid", BubblewrapSandboxFixture.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--regid", BubblewrapSandboxFixture.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "--clear-groups", "sleep", "60"]))!;
        try
        {
            using var workspace = new TestWorkspace();

            var run = await RunAsync(workspace, ["sh", "-c", "kill -9 -1; sleep 0.2; echo still here"]);

            Assert.False(outsider.HasExited);
            Assert.Equal(Verdict.Ok, run.Result.Verdict);
            Assert.Equal("still here\n", run.Stdout);
        }
        finally
        {
            outsider.Kill();
            await outsider.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        }

        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Network_is_unreachable_even_on_loopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var workspace = new TestWorkspace();
        var program = $$"""
            import socket
            for host, port in (('127.0.0.1', {{port}}), ('1.1.1.1', 53), ('10.0.0.1', 80)):
                try:
                    socket.create_connection((host, port), timeout=2)
                    print(host, 'connected')
                except OSError as error:
                    print(host, 'failed', error.errno)
            """;

        var run = await RunAsync(workspace, ["python3", "-c", program]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.DoesNotContain("connected", run.Stdout, StringComparison.Ordinal);
        Assert.Equal(3, run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains("failed", StringComparison.Ordinal)));
        Assert.False(listener.Pending());
    }

    [Fact]
    public async Task Host_files_and_environment_are_not_visible()
    {
        Environment.SetEnvironmentVariable("IRIS_TEST_SECRET", "s3cr3t-value");
        using var workspace = new TestWorkspace();
        const string Script = """
            cat /etc/shadow 2>&1; ls /root 2>&1; ls /home 2>&1; ls /work 2>&1; cat /proc/1/environ | tr '\0' '\n'; env; ls /etc
            """;

        var run = await RunAsync(workspace, ["sh", "-c", Script]);

        Assert.Contains("/etc/shadow: No such file", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("/root': No such file", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("/home': No such file", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("/work': No such file", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-value", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("shadow", run.Stdout.Split("No such file")[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proc_shows_only_the_sandbox_processes()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "for p in /proc/[0-9]*; do echo ${p#/proc/}; done"]);

        var pids = run.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
        Assert.Contains(1, pids);
        Assert.All(pids, pid => Assert.True(pid < 10, $"pid {pid} looks like a host process"));
    }

    [Fact]
    public async Task Writing_a_file_past_the_size_limit_ends_cleanly()
    {
        using var workspace = new TestWorkspace();

        // dd itself, not a shell around it: the shell would exit with 128 + 25, which is not a signal.
        var run = await RunAsync(workspace, ["dd", "if=/dev/zero", "of=big", "bs=1M", "count=10", "status=none"], Limits(fileMiB: 1));

        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal(25, run.Result.Signal);
        Assert.Contains("File size limit", run.Result.Message, StringComparison.Ordinal);
        Assert.Equal(1024 * 1024, new FileInfo(Path.Combine(workspace.Path, "big")).Length);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Filling_tmp_stops_at_the_tmpfs_size()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace,
            ["sh", "-c", "i=0; while head -c 1048576 /dev/zero > /tmp/f$i 2>/dev/null; do i=$((i+1)); done; echo $i; df -k /tmp /dev/shm | tail -2"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var files = int.Parse(run.Stdout.Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(files, 1, (int)(fixture.Options.TmpfsSizeBytes / (1024 * 1024)));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Links_and_fifos_stay_inside_the_workspace_and_nothing_outside_is_writable()
    {
        using var workspace = new TestWorkspace();
        // Not under /tmp: the sandbox has a private /tmp, where that path would be its own.
        var hostTarget = Path.Combine("/var/tmp", "iris-host-target-" + Guid.NewGuid().ToString("N")[..8]);
        File.WriteAllText(hostTarget, "host");
        try
        {
            var script = $"ln -s {hostTarget} link; ln -s / rootlink; mkfifo fifo; " +
                $"for f in /x /usr/x /etc/x /proc/x /sys/x /var/x {hostTarget}; do touch $f 2>/dev/null && echo wrote $f; done; " +
                "echo into > link 2>/dev/null && echo wrote through link; echo ok";

            var run = await RunAsync(workspace, ["sh", "-c", script]);
            Assert.Equal("ok\n", run.Stdout);

            // A second run chowns the workspace again: the planted link must not make us chown its target.
            var again = await RunAsync(workspace, ["true"]);
            Assert.Equal(Verdict.Ok, again.Result.Verdict);

            Assert.Equal(hostTarget, File.ResolveLinkTarget(Path.Combine(workspace.Path, "link"), returnFinalTarget: false)?.FullName);
            Assert.Equal("/", new FileInfo(Path.Combine(workspace.Path, "rootlink")).LinkTarget);
            Assert.Equal("host", File.ReadAllText(hostTarget));
            Assert.Equal("0\n", await OwnerOfAsync(hostTarget));
            Assert.Equal("0\n", await OwnerOfAsync("/etc"));
        }
        finally
        {
            File.Delete(hostTarget);
        }

        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Kill_ends_the_tree_and_its_verdict_wins()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "sleep 1000 & sleep 1000"], whileRunning: async process =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            process.Kill(Verdict.OutputLimit, "too much output");
        });

        Assert.Equal(Verdict.OutputLimit, run.Result.Verdict);
        Assert.Equal("too much output", run.Result.Message);
        Assert.Equal(9, run.Result.Signal);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Sigint_reaches_a_python_program()
    {
        using var workspace = new TestWorkspace();
        // Short naps, not one long sleep: CPython looks at a caught signal only when the sleep is interrupted, so a SIGINT
        // landing between print() and time.sleep() would wait out the whole sleep (seen 1 run in 400 under load).
        await using var process = await fixture.Sandbox.StartAsync(
            new SandboxSpec(["python3", "-c", "import time\ntry:\n    print('ready')\n    while True:\n        time.sleep(0.05)\nexcept KeyboardInterrupt:\n    print('interrupted')\n    raise SystemExit(3)"],
                workspace.Path, SandboxRunner.DefaultLimits),
            CancellationToken.None).WaitAsync(SandboxRunner.Timeout);
        var buffer = new byte[6];
        var read = 0;
        while (read < buffer.Length)
        {
            read += await process.StandardOutput.ReadAsync(buffer.AsMemory(read)).AsTask().WaitAsync(SandboxRunner.Timeout);
        }

        process.Signal(2);

        using var rest = new MemoryStream();
        await process.StandardOutput.CopyToAsync(rest).WaitAsync(SandboxRunner.Timeout);
        var result = await process.Completion.WaitAsync(SandboxRunner.Timeout);
        Assert.True("interrupted\n" == System.Text.Encoding.UTF8.GetString(rest.ToArray()), $"after SIGINT the program wrote '{System.Text.Encoding.UTF8.GetString(rest.ToArray())}'; the run: {result}");
        Assert.Equal(3, result.ExitCode);
        Assert.Equal(Verdict.RuntimeError, result.Verdict);
    }

    private static async Task<string> OwnerOfAsync(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!;
        var output = await stat.StandardOutput.ReadToEndAsync().WaitAsync(SandboxRunner.Timeout);
        await stat.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        return output;
    }
}
