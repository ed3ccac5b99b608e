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
    public async Task The_program_starts_with_no_signal_ignored_or_blocked()
    {
        using var workspace = new TestWorkspace();

        // The runner (.NET) ignores SIGPIPE; the supervisor gives the program every default back.
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["cat", "/proc/self/status"]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var lines = run.Stdout.Split('\n');
        Assert.Equal("SigIgn:\t0000000000000000", Assert.Single(lines, line => line.StartsWith("SigIgn:", StringComparison.Ordinal)));
        Assert.Equal("SigBlk:\t0000000000000000", Assert.Single(lines, line => line.StartsWith("SigBlk:", StringComparison.Ordinal)));
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
            new SandboxSpec(["python3", "-c", "import time\ntry:\n    print('ready')\n    while True:\n        time.sleep(0.05)\nexcept KeyboardInterrupt:\n    raise SystemExit(3)"],
                workspace.Path, SandboxRunner.DefaultLimits),
            CancellationToken.None).WaitAsync(SandboxRunner.Timeout);
        var buffer = new byte[6];
        await process.StandardOutput.ReadExactlyAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);

        process.Signal(2);

        Assert.Equal(3, (await process.Completion.WaitAsync(SandboxRunner.Timeout)).ExitCode);
    }

    [Fact]
    public async Task A_child_that_left_the_session_ends_with_the_program_and_does_not_hold_its_output()
    {
        using var workspace = new TestWorkspace();
        const string Program = "import os, sys, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nprint('parent done', flush=True)\n";

        // Without the supervisor the child keeps the output pipe open: reading to its end would wait 1000 s.
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", Program]);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("parent done\n", run.Stdout);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid));
    }

    [Fact]
    public async Task Memory_of_the_whole_tree_counts_against_the_limit()
    {
        using var workspace = new TestWorkspace();
        var limits = SandboxRunner.DefaultLimits with { MemoryBytes = 96L * 1024 * 1024, WallTime = TimeSpan.FromSeconds(30) };

        // Four children of 40 MiB each: none is over the limit alone, together they are.
        const string Program = "import os, time\nfor _ in range(4):\n    if os.fork() == 0:\n        data = b'x' * (40 << 20)\n        time.sleep(1000)\ntime.sleep(1000)\n";
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", Program], limits: limits);

        Assert.Equal(Verdict.MemoryLimit, run.Result.Verdict);
        Assert.Equal("Memory limit of 96 MiB exceeded.", run.Result.Message);
        Assert.True(run.Result.PeakMemoryBytes > limits.MemoryBytes, $"peak {run.Result.PeakMemoryBytes}");
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid));
    }

    [Fact]
    public async Task Shared_pages_of_forked_children_are_not_charged_once_per_child()
    {
        using var workspace = new TestWorkspace();
        var limits = SandboxRunner.DefaultLimits with { MemoryBytes = 96L * 1024 * 1024 };

        // 48 MiB written by the parent, then shared copy-on-write by four children that only read it: 48 MiB in all,
        // not five times that.
        const string Program = "import os, time\ndata = b'x' * (48 << 20)\nkids = [os.fork() for _ in range(4)]\nif 0 in kids:\n    time.sleep(1.5)\n    os._exit(0)\nfor _ in range(4):\n    os.wait()\nprint(len(data))\n";
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", Program], limits: limits);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("50331648\n", run.Stdout);
        Assert.True(run.Result.PeakMemoryBytes > 40L * 1024 * 1024, $"peak {run.Result.PeakMemoryBytes}: the shared data was not seen at all");
    }

    [Fact]
    public async Task Cpu_time_of_a_child_counts_while_it_runs()
    {
        using var workspace = new TestWorkspace();
        var limits = SandboxRunner.DefaultLimits with { CpuTime = TimeSpan.FromSeconds(1), WallTime = TimeSpan.FromSeconds(30) };

        // The parent sleeps and never reaps: only the living child's own time shows the burn.
        const string Program = "import os, time\nif os.fork() == 0:\n    while True: pass\ntime.sleep(1000)\n";
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", Program], limits: limits);

        Assert.Equal(Verdict.TimeLimit, run.Result.Verdict);
        Assert.StartsWith("CPU time limit", run.Result.Message, StringComparison.Ordinal);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid));
    }

    [Fact]
    public async Task The_kernel_cpu_limit_sends_sigxcpu_a_second_before_sigkill()
    {
        using var workspace = new TestWorkspace();
        var limits = SandboxRunner.DefaultLimits with { CpuTime = TimeSpan.FromSeconds(1.5) };

        // With soft equal to hard the kernel only ever sends SIGKILL, which reads as any other kill, not a time limit.
        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["sh", "-c", "grep 'Max cpu time' /proc/self/limits"], limits: limits);

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal(["Max", "cpu", "time", "3", "4", "seconds"], run.Stdout.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Sigkill_from_the_client_ends_the_program_and_everything_it_started()
    {
        using var workspace = new TestWorkspace();
        await using var process = await _sandbox.StartAsync(
            new SandboxSpec(["sh", "-c", "setsid sleep 1000 & echo ready; sleep 1000"], workspace.Path, SandboxRunner.DefaultLimits),
            CancellationToken.None).WaitAsync(SandboxRunner.Timeout);
        var buffer = new byte[6];
        await process.StandardOutput.ReadExactlyAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);

        process.Signal(9);

        var result = await process.Completion.WaitAsync(SandboxRunner.Timeout);
        Assert.Equal(9, result.Signal);
        Assert.Equal(0, await process.StandardOutput.ReadAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout));
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid));
    }
}
