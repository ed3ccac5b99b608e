using System.Net;
using System.Net.Sockets;
using Docker.DotNet.Models;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Docker;
using IrisIde.Execution.Sessions.Docker;
using IrisIde.Tests.Sandboxing;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Docker;

/// <summary>A Docker sandbox on the test dockerd with the offline runner image, under one runtime.</summary>
public abstract class DockerSandboxFixture : IDisposable
{
    protected DockerSandboxFixture(string runtime, int gVisorExtraProcesses = 128)
    {
        Runtime = runtime;
        Options = new DockerSandboxOptions
        {
            Image = DockerTestEngine.RunnerImage,
            StatusDirectory = Path.Combine(Path.GetTempPath(), "iris-test-steps-" + Guid.NewGuid().ToString("N")[..8]),
            GVisorExtraProcesses = gVisorExtraProcesses,
        };
        Engine = new DockerEngine(Microsoft.Extensions.Options.Options.Create(new DockerOptions { Endpoint = DockerTestEngine.Endpoint, Runtime = runtime }));
        Sandbox = new DockerSandbox(Engine, Microsoft.Extensions.Options.Options.Create(Options), NullLogger<DockerSandbox>.Instance);
    }

    public string Runtime { get; }

    public DockerSandboxOptions Options { get; }

    public DockerEngine Engine { get; }

    public DockerSandbox Sandbox { get; }

    /// <summary>No step container and no status folder is left, and a plain program still runs.</summary>
    public async Task AssertNothingLeftAndHelloWorldWorksAsync()
    {
        Assert.Empty(await StepContainersAsync());
        Assert.Empty(Directory.Exists(Options.StatusDirectory) ? Directory.EnumerateFileSystemEntries(Options.StatusDirectory) : []);
        using var workspace = new TestWorkspace();
        var hello = await SandboxRunner.RunAsync(Sandbox, workspace, ["python3", "-c", "print('hello')"]);
        Assert.Equal(Verdict.Ok, hello.Result.Verdict);
        Assert.Equal("hello\n", hello.Stdout);
    }

    public static async Task<IList<ContainerListResponse>> StepContainersAsync()
    {
        using var client = DockerTestEngine.CreateClient();
        return await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { ["iris.app=iris-step"] = true } },
        });
    }

    public void Dispose()
    {
        Engine.Dispose();
        if (Directory.Exists(Options.StatusDirectory))
        {
            Directory.Delete(Options.StatusDirectory, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}

public sealed class RuncSandboxFixture() : DockerSandboxFixture("runc");

public sealed class GVisorSandboxFixture() : DockerSandboxFixture("runsc");

/// <summary>
/// <c>Iris:Sandbox:Kind=Docker</c>: the step's own result and the attacks of the bubblewrap hostile suite, in a
/// fresh container per step. Each ends with its limit or an error, leaves no container behind, and a normal step
/// right after works.
/// </summary>
public abstract class DockerSandboxSuite(DockerSandboxFixture fixture)
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

    /// <summary>How a fork loop ends: at the wall limit, its forks refused by the pids limit.</summary>
    protected virtual Verdict ForkLoopVerdict => Verdict.TimeLimit;

    private Task<RunOutput> RunAsync(TestWorkspace workspace, string[] command, SandboxLimits? limits = null, string? stdin = null, Func<ISandboxProcess, Task>? whileRunning = null) =>
        SandboxRunner.RunAsync(fixture.Sandbox, workspace, command, stdin: stdin, limits: limits, whileRunning: whileRunning);

    [Theory]
    [InlineData(0, Verdict.Ok)]
    [InlineData(3, Verdict.RuntimeError)]
    [InlineData(129, Verdict.RuntimeError)]
    [InlineData(200, Verdict.RuntimeError)]
    public async Task The_programs_own_exit_code_is_reported_exactly(int code, Verdict verdict)
    {
        using var workspace = new TestWorkspace();

        // python's os._exit: a plain exit with that code, no signal, whatever its value.
        var run = await RunAsync(workspace, ["python3", "-c", $"import os; os._exit({code})"]);

        Assert.Equal(verdict, run.Result.Verdict);
        if (code is > 128 and <= 192)
        {
            // Indistinguishable from a signal after a shell, as in every sandbox that reports a shell's status.
            Assert.Equal(code - 128, run.Result.Signal);
        }
        else
        {
            Assert.Equal(code, run.Result.ExitCode);
        }
    }

    [Fact]
    public async Task Input_reaches_the_program_and_its_output_comes_back_on_the_right_stream()
    {
        using var workspace = new TestWorkspace();
        workspace.Write("main.py", "import sys\nname = input()\nprint('hello ' + name)\nprint('to stderr', file=sys.stderr)\n");

        var run = await RunAsync(workspace, ["python3", "main.py"], stdin: "docker\n");

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("hello docker\n", run.Stdout);
        Assert.Equal("to stderr\n", run.Stderr);

        // Other host users can neither list the steps' status folders nor plant a status in one.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(fixture.Options.StatusDirectory));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task A_compiled_program_writes_to_and_runs_from_the_workspace()
    {
        using var workspace = new TestWorkspace();
        workspace.Write("main.c", "#include <stdio.h>\nint main(void) { puts(\"compiled\"); return 0; }\n");

        var compile = await RunAsync(workspace, ["gcc", "-O0", "-o", "main", "main.c"], Limits(wallSeconds: 30, cpuSeconds: 20));
        Assert.Equal(Verdict.Ok, compile.Result.Verdict);
        var run = await RunAsync(workspace, ["./main"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("compiled\n", run.Stdout);
    }

    [Fact]
    public async Task Sleeping_forever_ends_with_the_wall_time_limit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sleep", "1000"], Limits(wallSeconds: 1));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.Contains("Wall", run.Result.Message, StringComparison.Ordinal);
        Assert.InRange(run.Result.WallTime, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Busy_processes_end_with_the_cpu_time_limit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "for i in 1 2 3 4; do (while :; do :; done) & done; wait"],
            Limits(wallSeconds: 30, cpuSeconds: 1, cores: 2));

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.Contains("CPU", run.Result.Message, StringComparison.Ordinal);
        Assert.True(run.Result.WallTime < TimeSpan.FromSeconds(10), $"wall {run.Result.WallTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Memory_bomb_ends_with_the_memory_limit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["python3", "-c", "a = []\nwhile True: a.append('x' * 10_000_000)"], Limits(memoryMiB: 64));

        Assert.Equal(Verdict.MemoryLimit, run.Result.Verdict);
        Assert.Equal("Memory limit of 64 MiB exceeded.", run.Result.Message);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Fork_loop_ends_with_a_limit_and_leaves_nothing()
    {
        using var workspace = new TestWorkspace();
        const string Program = """
            import os, time
            while True:
                try:
                    os.fork()
                except OSError:
                    time.sleep(0.01)
            """;

        var run = await RunAsync(workspace, ["python3", "-c", Program], Limits(wallSeconds: 3, processes: 32));

        Assert.Equal(ForkLoopVerdict, run.Result.Verdict);
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
    public async Task Host_files_environment_and_privileges_are_out_of_reach()
    {
        Environment.SetEnvironmentVariable("IRIS_TEST_SECRET", "s3cr3t-value");
        using var workspace = new TestWorkspace();
        const string Script = """
            id -u; cat /etc/shadow 2>&1; ls /work 2>&1; env; grep -E '^Cap(Eff|Prm)|^NoNewPrivs' /proc/self/status;
            for f in /x /usr/x /etc/x /app/x; do touch $f 2>/dev/null && echo wrote $f; done; echo end
            """;

        var run = await RunAsync(workspace, ["sh", "-c", Script]);

        var lines = run.Stdout.Split('\n');
        Assert.Equal("10001", lines[0]);
        Assert.Contains("Permission denied", run.Stdout, StringComparison.Ordinal);
        // gVisor answers a missing top-level folder with EINVAL rather than ENOENT; either way it is not there.
        Assert.Matches("/work': (No such file|Invalid argument)", run.Stdout);
        Assert.DoesNotContain("s3cr3t-value", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("CapEff:\t0000000000000000", run.Stdout, StringComparison.Ordinal);
        // gVisor's /proc does not show the flag (its sandbox sets it from the same OCI spec); where shown, it is set.
        if (run.Stdout.Contains("NoNewPrivs:", StringComparison.Ordinal))
        {
            Assert.Contains("NoNewPrivs:\t1", run.Stdout, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("wrote", run.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("end\n", run.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writing_a_file_past_the_size_limit_ends_cleanly()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["dd", "if=/dev/zero", "of=big", "bs=1M", "count=10", "status=none"], Limits(fileMiB: 1));

        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal(25, run.Result.Signal);
        Assert.Contains("File size limit", run.Result.Message, StringComparison.Ordinal);
        Assert.Equal(1024 * 1024, new FileInfo(Path.Combine(workspace.Path, "big")).Length);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Filling_tmp_stops_at_its_size()
    {
        using var workspace = new TestWorkspace();

        // Time enough for gVisor, whose writes cost several times runc's: the point is where the writes stop.
        var run = await RunAsync(workspace, ["sh", "-c", "i=0; while head -c 1048576 /dev/zero > /tmp/f$i 2>/dev/null; do i=$((i+1)); done; echo $i"],
            Limits(wallSeconds: 60, cpuSeconds: 40));

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var files = int.Parse(run.Stdout.Split('\n')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(files, 1, (int)(fixture.Options.TmpfsBytes / (1024 * 1024)));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Kill_ends_the_step_and_its_verdict_wins()
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
    public async Task A_container_that_dies_under_the_program_is_an_internal_error_not_the_programs_exit()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sleep", "1000"], whileRunning: async _ =>
        {
            // The sandbox itself goes (as a crashed gVisor sentry would): the program never reports its status.
            var step = await WaitForStepAsync();
            using var client = DockerTestEngine.CreateClient();
            await client.Containers.KillContainerAsync(step.ID, new ContainerKillParameters { Signal = "SIGKILL" });
        });

        Assert.Equal(Verdict.InternalError, run.Result.Verdict);
        Assert.Contains("without the program's status", run.Result.Message, StringComparison.Ordinal);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    private static async Task<ContainerListResponse> WaitForStepAsync()
    {
        for (var i = 0; i < 200; i++)
        {
            if ((await DockerSandboxFixture.StepContainersAsync()).FirstOrDefault(c => c.State == "running") is { } running)
            {
                return running;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("no running step container");
    }
}

[Trait("Needs", "Docker")]
[Collection(nameof(DockerSandboxSuite))]
public sealed class RuncSandboxTests(RuncSandboxFixture fixture) : DockerSandboxSuite(fixture), IClassFixture<RuncSandboxFixture>;

[Trait("Needs", "Docker")]
[Collection(nameof(DockerSandboxSuite))]
public sealed class GVisorSandboxTests(GVisorSandboxFixture fixture) : DockerSandboxSuite(fixture), IClassFixture<GVisorSandboxFixture>
{
    /// <summary>
    /// Under gVisor (ptrace platform) the program's processes are host processes of the sandbox too: a fork loop
    /// takes the pids the sandbox itself needs, and gVisor dies. That is the sandbox crashing, reported as such,
    /// never as the program's exit code (gVisor's own exit code is 2, a plausible program exit).
    /// </summary>
    protected override Verdict ForkLoopVerdict => Verdict.InternalError;
}
