using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed class BubblewrapSandboxTests(BubblewrapSandboxFixture fixture) : IClassFixture<BubblewrapSandboxFixture>
{
    private Task<RunOutput> RunAsync(TestWorkspace workspace, string[] command, string? stdin = null, SandboxLimits? limits = null,
        IReadOnlyDictionary<string, string>? environment = null, Func<ISandboxProcess, Task>? whileRunning = null) =>
        SandboxRunner.RunAsync(fixture.Sandbox, workspace, command, stdin, limits, environment, whileRunning);

    [Fact]
    public async Task Python_hello_world_prints_and_ends_ok()
    {
        using var workspace = new TestWorkspace();
        workspace.Write("main.py", "print('hello, world')\n");

        var run = await RunAsync(workspace, ["python3", "main.py"]);

        Assert.Equal("hello, world\n", run.Stdout);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal(0, run.Result.ExitCode);
        Assert.Null(run.Result.Signal);
        Assert.True(run.Result.CpuTime > TimeSpan.Zero);
        Assert.True(run.Result.PeakMemoryBytes > 0);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task C_program_compiles_and_runs_inside_the_sandbox()
    {
        using var workspace = new TestWorkspace();
        workspace.Write("hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello from C\"); return 0; }\n");

        var compile = await RunAsync(workspace, ["gcc", "-O2", "-o", "hello", "hello.c"]);
        Assert.True(compile.Result.Verdict == Verdict.Ok, compile.Stderr);

        var run = await RunAsync(workspace, ["./hello"]);
        Assert.Equal("hello from C\n", run.Stdout);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
    }

    [Fact]
    public async Task The_program_starts_with_no_signal_ignored_or_blocked()
    {
        using var workspace = new TestWorkspace();

        // cat itself changes no disposition; the server (.NET) ignores SIGPIPE, which must not come down.
        var run = await RunAsync(workspace, ["cat", "/proc/self/status"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var lines = run.Stdout.Split('\n');
        Assert.Equal("SigIgn:\t0000000000000000", Assert.Single(lines, line => line.StartsWith("SigIgn:", StringComparison.Ordinal)));
        Assert.Equal("SigBlk:\t0000000000000000", Assert.Single(lines, line => line.StartsWith("SigBlk:", StringComparison.Ordinal)));
        Assert.NotEqual("0000000000000000", File.ReadLines("/proc/self/status").Single(line => line.StartsWith("SigIgn:", StringComparison.Ordinal))[8..]);
    }

    [Fact]
    public async Task Every_process_of_a_run_is_the_first_the_kernel_kills_under_memory_pressure()
    {
        using var workspace = new TestWorkspace();

        // The program and a child it starts: the score is inherited all the way down.
        var run = await RunAsync(workspace, ["sh", "-c", "cat /proc/self/oom_score_adj; sh -c 'cat /proc/$$/oom_score_adj'"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("1000\n1000\n", run.Stdout);
    }

    [Fact]
    public async Task Exit_code_of_the_program_is_propagated_as_runtime_error()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "echo oops >&2; exit 42"]);

        Assert.Equal(42, run.Result.ExitCode);
        Assert.Null(run.Result.Signal);
        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal("oops\n", run.Stderr);
    }

    [Fact]
    public async Task Program_killed_by_a_signal_reports_the_signal_and_no_exit_code()
    {
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]);

        Assert.Null(run.Result.ExitCode);
        Assert.Equal(11, run.Result.Signal);
        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
    }

    [Fact]
    public async Task Stdin_is_echoed_to_stdout_byte_for_byte()
    {
        using var workspace = new TestWorkspace();
        var input = "line one\nsecond line ünïcode\n" + new string('x', 100_000) + "\n";

        var run = await RunAsync(workspace, ["cat"], stdin: input);

        Assert.Equal(input, run.Stdout);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
    }

    [Fact]
    public async Task Output_arrives_while_the_program_still_runs()
    {
        using var workspace = new TestWorkspace();
        await using var process = await fixture.Sandbox.StartAsync(
            new SandboxSpec(["python3", "-c", "import sys\nprint('ready')\nprint(sys.stdin.readline().upper(), end='')"], workspace.Path, SandboxRunner.DefaultLimits),
            CancellationToken.None).WaitAsync(SandboxRunner.Timeout);

        // The program reads its input only after "ready" reached us: nothing is buffered on either side.
        var buffer = new byte[16];
        var read = 0;
        while (read < 6)
        {
            read += await process.StandardOutput.ReadAsync(buffer.AsMemory(read)).AsTask().WaitAsync(SandboxRunner.Timeout);
        }

        Assert.Equal("ready\n", System.Text.Encoding.UTF8.GetString(buffer, 0, read));
        await process.StandardInput.WriteAsync("ping\n"u8.ToArray()).AsTask().WaitAsync(SandboxRunner.Timeout);
        await process.StandardInput.FlushAsync().WaitAsync(SandboxRunner.Timeout);
        using var rest = new MemoryStream();
        await process.StandardOutput.CopyToAsync(rest).WaitAsync(SandboxRunner.Timeout);

        Assert.Equal("PING\n", System.Text.Encoding.UTF8.GetString(rest.ToArray()));
        Assert.Equal(Verdict.Ok, (await process.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
    }

    [Fact]
    public async Task Environment_is_the_allow_list_plus_the_spec()
    {
        Environment.SetEnvironmentVariable("IRIS_TEST_HOST_SECRET", "hunter2");
        using var workspace = new TestWorkspace();

        var run = await RunAsync(workspace, ["sh", "-c", "env | sort; id -u; pwd"], environment: new Dictionary<string, string> { ["EXTRA"] = "yes" });

        Assert.DoesNotContain("hunter2", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("PATH=/usr/local/bin:/usr/bin:/bin\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("HOME=/workspace\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("PYTHONUNBUFFERED=1\n", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("EXTRA=yes\n", run.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("1000\n/workspace\n", run.Stdout, StringComparison.Ordinal);
    }
}
