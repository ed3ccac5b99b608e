using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Processes;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Processes;

[Trait("Needs", "Toolchains")]
public sealed class ProcessSandboxTests
{
    // Outside every bubblewrap uid range (the default 61000–61999 and the tests' 63000–63153): these
    // tests count leftover processes of their uid, and bubblewrap runs take uids from those ranges.
    private const int Uid = 64001;

    private readonly ProcessSandbox _sandbox = new(
        Microsoft.Extensions.Options.Options.Create(new ProcessSandboxOptions { Uid = Uid, Gid = Uid }),
        NullLogger<ProcessSandbox>.Instance);

    [Fact]
    public async Task Hello_world_runs_as_the_unprivileged_uid_in_the_workspace()
    {
        using var workspace = new TestWorkspace();

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["sh", "-c", "echo hello; id -u; pwd; echo $HOME"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal($"hello\n{Uid}\n{workspace.Path}\n{workspace.Path}\n", run.Stdout);
    }

    [Fact]
    public async Task The_program_is_the_first_the_kernel_kills_under_memory_pressure()
    {
        using var workspace = new TestWorkspace();

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["sh", "-c", "cat /proc/self/oom_score_adj"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("1000\n", run.Stdout);
        Assert.NotEqual("1000", File.ReadAllText("/proc/self/oom_score_adj").Trim());
    }

    [Fact]
    public async Task Exit_code_is_propagated()
    {
        using var workspace = new TestWorkspace();

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", "raise SystemExit(7)"]);

        Assert.Equal(7, run.Result.ExitCode);
        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
    }

    [Fact]
    public async Task Wall_limit_kills_the_whole_process_group()
    {
        using var workspace = new TestWorkspace();
        var limits = SandboxRunner.DefaultLimits with { WallTime = TimeSpan.FromSeconds(1) };

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["sh", "-c", "sleep 1000 & sleep 1000 & wait"], limits: limits);

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid));
    }

    [Fact]
    public async Task Sigint_reaches_the_program()
    {
        using var workspace = new TestWorkspace();
        await using var process = await _sandbox.StartAsync(
            new SandboxSpec(["python3", "-c", "import time\ntry:\n    print('ready')\n    time.sleep(100)\nexcept KeyboardInterrupt:\n    raise SystemExit(3)"],
                workspace.Path, SandboxRunner.DefaultLimits),
            CancellationToken.None).WaitAsync(SandboxRunner.Timeout);
        var buffer = new byte[6];
        var read = 0;
        while (read < buffer.Length)
        {
            read += await process.StandardOutput.ReadAsync(buffer.AsMemory(read)).AsTask().WaitAsync(SandboxRunner.Timeout);
        }

        process.Signal(2);

        Assert.Equal(3, (await process.Completion.WaitAsync(SandboxRunner.Timeout)).ExitCode);
    }
}
