using System.Globalization;
using System.Runtime.InteropServices;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// What one run can do to another run or to the host through the sandbox's own machinery: shared uids,
/// inherited descriptors, its pid 1, its exit status (issue 9's findings 4, 5, 6 and 8).
/// </summary>
[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed partial class BubblewrapIsolationTests(BubblewrapSandboxFixture fixture) : IClassFixture<BubblewrapSandboxFixture>
{
    private Task<RunOutput> RunAsync(string[] command, SandboxLimits? limits = null, Func<ISandboxProcess, Task>? whileRunning = null)
    {
        var workspace = new TestWorkspace();
        return RunAndDeleteAsync();

        async Task<RunOutput> RunAndDeleteAsync()
        {
            using (workspace)
            {
                return await SandboxRunner.RunAsync(fixture.Sandbox, workspace, command, limits: limits, whileRunning: whileRunning);
            }
        }
    }

    /// <summary>The real host uids of the live processes of the fixture's range.</summary>
    private static HashSet<int> HostUidsInUse()
    {
        var uids = new HashSet<int>();
        foreach (var process in Support.HostProcesses.All(BubblewrapSandboxFixture.Uid, BubblewrapSandboxFixture.UidCount).Where(p => !p.IsZombie))
        {
            try
            {
                var line = File.ReadLines($"/proc/{process.Pid}/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                uids.Add(int.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture));
            }
            catch (IOException)
            {
                // Gone while we looked.
            }
        }

        return uids;
    }

    [Fact]
    public async Task Concurrent_runs_get_different_host_uids_from_the_range()
    {
        using var firstWorkspace = new TestWorkspace();
        using var secondWorkspace = new TestWorkspace();
        await using var first = await fixture.Sandbox.StartAsync(new SandboxSpec(["sh", "-c", "echo up; cat > /dev/null"], firstWorkspace.Path, SandboxRunner.DefaultLimits), CancellationToken.None);
        await using var second = await fixture.Sandbox.StartAsync(new SandboxSpec(["sh", "-c", "echo up; cat > /dev/null"], secondWorkspace.Path, SandboxRunner.DefaultLimits), CancellationToken.None);
        var buffer = new byte[3];
        await first.StandardOutput.ReadExactlyAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);
        await second.StandardOutput.ReadExactlyAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);

        // Both programs are up: each run's processes (launcher/bwrap, init, sh) run as that run's uid.
        // (The sandboxes kept ready for the next runs hold uids of their own: ended first.)
        await fixture.Sandbox.DiscardReadyAsync();
        var uids = HostUidsInUse();

        Assert.Equal(2, uids.Count);
        first.StandardInput.Close();
        second.StandardInput.Close();
        Assert.Equal(Verdict.Ok, (await first.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
        Assert.Equal(Verdict.Ok, (await second.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
        await first.DisposeAsync(); // the cgroups go and the uids are freed once disposed
        await second.DisposeAsync();
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task When_every_uid_is_taken_a_run_is_refused_clearly_and_the_next_one_after_works()
    {
        // A range of one uid, just past the fixture's: the second concurrent run finds none free.
        var options = new Execution.Sandboxing.Bubblewrap.BubblewrapOptions
        {
            Uid = BubblewrapSandboxFixture.Uid + BubblewrapSandboxFixture.UidCount,
            UidCount = 1,
            CgroupParent = fixture.Options.CgroupParent,
        };
        using var sandbox = new Execution.Sandboxing.Bubblewrap.BubblewrapSandbox(
            Microsoft.Extensions.Options.Options.Create(options), SandboxRunner.HostCapacity,
            Microsoft.Extensions.Logging.Abstractions.NullLogger<Execution.Sandboxing.Bubblewrap.BubblewrapSandbox>.Instance);
        using var workspace = new TestWorkspace();
        await using (var holder = await sandbox.StartAsync(new SandboxSpec(["sh", "-c", "echo up; cat > /dev/null"], workspace.Path, SandboxRunner.DefaultLimits), CancellationToken.None))
        {
            await holder.StandardOutput.ReadExactlyAsync(new byte[3]).AsTask().WaitAsync(SandboxRunner.Timeout);

            var refused = await Assert.ThrowsAsync<Execution.Sandboxing.Bubblewrap.SandboxUidsExhaustedException>(
                () => sandbox.StartAsync(new SandboxSpec(["true"], workspace.Path, SandboxRunner.DefaultLimits), CancellationToken.None));

            Assert.Contains("UidCount", refused.Message, StringComparison.Ordinal);
            holder.StandardInput.Close();
            Assert.Equal(Verdict.Ok, (await holder.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
        }

        var after = await SandboxRunner.RunAsync(sandbox, workspace, ["echo", "after"]);
        Assert.Equal("after\n", after.Stdout);
    }

    [Fact]
    public async Task The_sweep_ends_processes_of_uids_no_run_holds_and_spares_live_runs()
    {
        using var workspace = new TestWorkspace();
        await using var live = await fixture.Sandbox.StartAsync(new SandboxSpec(["sh", "-c", "echo up; cat > /dev/null"], workspace.Path, SandboxRunner.DefaultLimits), CancellationToken.None);
        await live.StandardOutput.ReadExactlyAsync(new byte[3]).AsTask().WaitAsync(SandboxRunner.Timeout);

        // What a crashed server's run would leave: a process of a range uid no run holds, outside any cgroup of ours.
        var liveUids = HostUidsInUse();
        var uid = Enumerable.Range(BubblewrapSandboxFixture.Uid, BubblewrapSandboxFixture.UidCount).Last(u => !liveUids.Contains(u)).ToString(CultureInfo.InvariantCulture);
        using var leftover = System.Diagnostics.Process.Start("/usr/bin/setpriv", ["--reuid", uid, "--regid", uid, "--clear-groups", "sleep", "60"]);
        // setpriv runs as root until it has switched: sweep only once the process is the leftover it stands for.
        for (var attempt = 0; attempt < 500 && !HostUidsInUse().Contains(int.Parse(uid, CultureInfo.InvariantCulture)); attempt++)
        {
            await Task.Delay(10);
        }

        var killed = fixture.Sandbox.SweepLeftoverProcesses();

        await leftover.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        Assert.True(killed >= 1);
        live.StandardInput.Close();
        Assert.Equal(Verdict.Ok, (await live.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
        await live.DisposeAsync();
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task A_run_cannot_read_a_concurrent_runs_keys()
    {
        var secret = "iris-secret-" + Guid.NewGuid().ToString("N")[..8];
        // add_key(2) into the user keyring (KEY_SPEC_USER_KEYRING = -4); it may well be refused outright.
        var addKey = $"""
            import ctypes, sys
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall.restype = ctypes.c_long
            r = libc.syscall(248, b"user", b"{secret}", b"payload-{secret}", 14 + {secret.Length}, -4)
            print("added" if r >= 0 else "refused", ctypes.get_errno(), flush=True)
            sys.stdin.readline()
            """;
        string? seen = null;
        var owner = await RunAsync(["python3", "-c", addKey], whileRunning: async _ =>
        {
            await Task.Delay(500); // let the key be added (or refused) first
            seen = (await RunAsync(["sh", "-c", "cat /proc/keys; cat /proc/key-users"])).Stdout;
        });

        Assert.Equal(Verdict.Ok, owner.Result.Verdict);
        Assert.DoesNotContain(secret, seen, StringComparison.Ordinal);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task One_run_cannot_use_up_a_per_uid_quota_of_another()
    {
        // fs.inotify.max_user_instances (128 by default) is counted per host uid: two runs holding 100
        // instances each only fit when each run has a uid of its own.
        const string Hold = """
            import ctypes, sys
            libc = ctypes.CDLL(None, use_errno=True)
            fds = [libc.inotify_init() for _ in range(100)]
            print(sum(1 for fd in fds if fd >= 0), flush=True)
            sys.stdin.readline()
            """;
        var limits = SandboxRunner.DefaultLimits with { MaxOpenFiles = 256 };
        string? second = null;
        var first = await RunAsync(["python3", "-c", Hold], limits, async _ =>
        {
            await Task.Delay(500);
            second = (await RunAsync(["python3", "-c", Hold.Replace("sys.stdin.readline()", "", StringComparison.Ordinal)], limits)).Stdout;
        });

        Assert.Equal("100\n", first.Stdout);
        Assert.Equal("100\n", second);
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Ptrace_of_pid_1_fails_and_the_run_ends_with_the_program()
    {
        const string Attach = """
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
            r = libc.ptrace(16, 1, 0, 0)  # PTRACE_ATTACH to the sandbox's init
            print(r, ctypes.get_errno(), flush=True)
            """;

        var run = await RunAsync(["python3", "-c", Attach], SandboxRunner.DefaultLimits with { WallTime = TimeSpan.FromSeconds(60) });

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Matches("^-1 (1|38)\n$", run.Stdout); // EPERM (or ENOSYS from the seccomp filter)
        // Ended with the program, not at the 60 s wall limit a wedged pid 1 would have waited for.
        Assert.True(run.Result.WallTime < TimeSpan.FromSeconds(30), $"the run took {run.Result.WallTime}");
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task Pid_1_is_not_readable_by_the_program()
    {
        var run = await RunAsync(["sh", "-c", "ls /proc/1/fd 2>&1; cat /proc/1/environ 2>&1; echo; tr '\\0' ' ' < /proc/1/cmdline"]);

        Assert.Contains("Permission denied", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("PATH=", run.Stdout, StringComparison.Ordinal);
        // pid 1's command line names only in-sandbox paths.
        Assert.DoesNotContain("bwrap", run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), run.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(129)]
    [InlineData(130)]
    [InlineData(137)]
    [InlineData(143)]
    [InlineData(192)]
    [InlineData(255)]
    public async Task Exit_codes_are_reported_exactly(int code)
    {
        var run = await RunAsync(["sh", "-c", "exit " + code.ToString(CultureInfo.InvariantCulture)]);

        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal(code, run.Result.ExitCode);
        Assert.Null(run.Result.Signal);
    }

    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("KILL", 9)]
    [InlineData("SEGV", 11)]
    public async Task A_program_ended_by_a_signal_reports_the_signal(string name, int signal)
    {
        var run = await RunAsync(["sh", "-c", "kill -" + name + " $$"]);

        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal(signal, run.Result.Signal);
        Assert.Null(run.Result.ExitCode);
        Assert.Contains("signal " + signal.ToString(CultureInfo.InvariantCulture), run.Result.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Descriptors_the_host_process_inherited_do_not_reach_the_program()
    {
        // A descriptor without close-on-exec in the server process, as a parent shell's pipe would be.
        var fds = new int[2];
        Assert.Equal(0, Pipe(fds));
        try
        {
            var run = await RunAsync(["sh", "-c", "ls /proc/self/fd"]);

            // ls's own descriptor for the folder is the only one above 2.
            Assert.Equal("0\n1\n2\n3\n", run.Stdout);
        }
        finally
        {
            _ = Close(fds[0]);
            _ = Close(fds[1]);
        }
    }

    [Fact]
    public async Task Runs_are_the_kernels_first_choice_under_memory_pressure()
    {
        var run = await RunAsync(["sh", "-c", "cat /proc/self/oom_score_adj; cat /proc/1/oom_score_adj"]);

        Assert.Equal("1000\n1000\n", run.Stdout);
    }

    [LibraryImport("libc", EntryPoint = "pipe", SetLastError = true)]
    private static partial int Pipe([Out] int[] fds);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
