using System.Diagnostics;
using System.Globalization;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging;
using MountInterop = IrisIde.Execution.Workspaces.Interop;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// Sandboxes set up ahead of their run (real bubblewrap, real cgroups): a run takes one of its shape,
/// gets its own workspace and command in it, and nothing of a ready sandbox reaches a run or outlives
/// the pool.
/// </summary>
public sealed class BubblewrapWarmSandboxTests : IAsyncLifetime
{
    // A range of its own (see BubblewrapSandboxFixture): these tests count the processes of their uids.
    private const int Uid = 63160;
    private const int UidCount = 8;

    private readonly CgroupLayout _layout = CgroupLayout.DetectCurrent("/sys/fs/cgroup");
    private readonly List<BubblewrapSandbox> _sandboxes = [];
    private readonly string _cgroupParent = "iris-warm-tests-" + Guid.NewGuid().ToString("N")[..8];
    private readonly StartLog _log = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        var slotDirectories = _sandboxes.Select(sandbox => sandbox.SlotDirectory).ToList();
        foreach (var sandbox in _sandboxes)
        {
            await sandbox.DisposeAsync();
        }

        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), line => slotDirectories.Exists(d => line.Contains(d, StringComparison.Ordinal)));
        Assert.All(slotDirectories, d => Assert.False(Directory.Exists(d), d));

        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
        foreach (var path in ParentPaths.Where(Directory.Exists))
        {
            Assert.Empty(Directory.GetDirectories(path));
            Directory.Delete(path);
        }

    }

    private IEnumerable<string> ParentPaths => BubblewrapSandboxFixture.ParentPathsOf(_cgroupParent);

    private BubblewrapSandbox NewSandbox(int uidCount = UidCount, int warm = 2, string? stateDirectory = null, string? workspaceRoot = null)
    {
        var options = new BubblewrapOptions { Uid = Uid, UidCount = uidCount, CgroupParent = _cgroupParent, WarmSandboxes = warm, StateDirectory = stateDirectory };
        var sandbox = new BubblewrapSandbox(options, SandboxRunner.HostCapacity, _log, cgroups: null, workspaceRoot);
        _sandboxes.Add(sandbox);
        return sandbox;
    }

    private static async Task WaitUntilReadyAsync(BubblewrapSandbox sandbox, int count = 1)
    {
        var deadline = DateTime.UtcNow + SandboxRunner.Timeout;
        while (sandbox.ReadyCount < count)
        {
            Assert.True(DateTime.UtcNow < deadline, "no sandbox was made ready");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task The_next_run_of_a_shape_takes_the_ready_sandbox_and_sees_its_own_workspace_command_and_input()
    {
        var sandbox = NewSandbox();
        using var first = new TestWorkspace();
        first.Write("who.txt", "first");
        var run = await SandboxRunner.RunAsync(sandbox, first, ["cat", "who.txt"]);
        Assert.Equal("first", run.Stdout);
        await WaitUntilReadyAsync(sandbox);

        // Written after the ready sandbox was set up: it still sees exactly this workspace.
        using var second = new TestWorkspace();
        second.Write("who.txt", "second");
        run = await SandboxRunner.RunAsync(sandbox, second,
            ["sh", "-c", "cat who.txt; echo; pwd; read line; echo \"got $line\"; echo made > out.txt; exit 7"], stdin: "typed\n");

        Assert.Equal([false, true], _log.Started);
        Assert.Equal(Verdict.RuntimeError, run.Result.Verdict);
        Assert.Equal(7, run.Result.ExitCode);
        Assert.Equal("second\n/workspace\ngot typed\n", run.Stdout);
        Assert.Equal("made\n", File.ReadAllText(Path.Combine(second.Path, "out.txt")));
        Assert.False(File.Exists(Path.Combine(first.Path, "out.txt")));
    }

    [Fact]
    public async Task The_sandbox_is_built_in_a_mount_namespace_without_the_other_runs_workspaces_or_the_hosts_cgroup_file_systems()
    {
        // Another run's workspace (a tmpfs under the workspace root), mounted before any sandbox is launched.
        var workspaceRoot = Directory.CreateTempSubdirectory("iris-warm-root-").FullName;
        var other = Directory.CreateDirectory(Path.Combine(workspaceRoot, "instance", "run-other")).FullName;
        Assert.Equal(0, MountInterop.Mount("iris-test", other, "tmpfs", 0, "size=64k"));
        try
        {
            var sandbox = NewSandbox(warm: 1, workspaceRoot: workspaceRoot);
            // Another kind of run's prepared root, with a mount inside it as a root's binds are.
            var otherRoot = Path.Combine(Path.GetDirectoryName(sandbox.SlotDirectory)!, BubblewrapMounts.RootsFolder, "99");
            Directory.CreateDirectory(otherRoot);
            Assert.Equal(0, MountInterop.Mount("iris-test", otherRoot, "tmpfs", 0, "size=64k"));
            Directory.CreateDirectory(Path.Combine(otherRoot, "usr"));
            Assert.Equal(0, MountInterop.Mount("iris-test", Path.Combine(otherRoot, "usr"), "tmpfs", 0, "size=64k"));
            using var workspace = new TestWorkspace();
            await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
            await WaitUntilReadyAsync(sandbox);

            // The ready sandbox's monitor, waiting for its run: the launcher (building the sandbox itself, a prepared root's
            // default) or the outer bwrap (its parent is the server), which still lives in the namespace the launcher
            // made, the one the sandbox's namespace copied. Ready counts from the launcher's start, so on a busy machine
            // the launcher may not have got that far yet.
            List<int> outer = [];
            var deadline = DateTime.UtcNow + SandboxRunner.Timeout;
            while ((outer = [.. Directory.EnumerateDirectories("/proc").Select(d => Path.GetFileName(d)).Where(IsAllDigits).Select(pid => int.Parse(pid, CultureInfo.InvariantCulture))
                .Where(pid => CommandLine(pid) is { } line && line.Contains(sandbox.SlotDirectory, StringComparison.Ordinal)
                    && ((line.StartsWith("/usr/bin/bwrap", StringComparison.Ordinal) && ParentCommand(pid) != "bwrap") || line.Contains(" --contain ", StringComparison.Ordinal)))]).Count == 0
                && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            var bwrap = Assert.Single(outer);
            var mounts = File.ReadAllLines($"/proc/{bwrap.ToString(CultureInfo.InvariantCulture)}/mountinfo");

            Assert.DoesNotContain(mounts, line => line.Contains(other, StringComparison.Ordinal));
            Assert.DoesNotContain(mounts, line => line.Split(" - ")[1].Split(' ')[0] is "cgroup" or "cgroup2" or "sysfs");
            Assert.DoesNotContain(mounts, line => line.Contains(otherRoot, StringComparison.Ordinal));
            // Its own slot and root (with the binds in it) stay: a run's workspace reaches the sandbox through the
            // slot, and bwrap binds the root. The host lost nothing.
            Assert.Contains(mounts, line => line.Contains(sandbox.SlotDirectory, StringComparison.Ordinal));
            Assert.Contains(mounts, line => line.Contains("/roots/1/usr/", StringComparison.Ordinal));
            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(other, StringComparison.Ordinal));
            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(otherRoot + "/usr", StringComparison.Ordinal));
            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), line => line.Split(" - ")[1].StartsWith("cgroup", StringComparison.Ordinal));

            // And the ready sandbox still gets its run's workspace through the slot.
            using var second = new TestWorkspace();
            second.Write("who.txt", "second");
            var run = await SandboxRunner.RunAsync(sandbox, second, ["cat", "who.txt"]);
            Assert.Equal([false, true], _log.Started);
            Assert.Equal("second", run.Stdout);
        }
        finally
        {
            MountInterop.Umount2(other, MountInterop.MNT_DETACH);
            Directory.Delete(workspaceRoot, recursive: true);
        }
    }

    private static bool IsAllDigits(string? name) => !string.IsNullOrEmpty(name) && name.All(char.IsAsciiDigit);

    private static string? CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Replace('\0', ' ');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? ParentCommand(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var parent = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1];
            return File.ReadAllText($"/proc/{parent}/comm").Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [Fact]
    public async Task A_ready_sandbox_is_taken_only_by_runs_of_its_shape()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
        await WaitUntilReadyAsync(sandbox);

        // Different limits: the ready sandbox (256 MiB) stays; this run gets a cgroup with its own 64 MiB limit.
        var small = SandboxRunner.DefaultLimits with { MemoryBytes = 64L * 1024 * 1024 };
        var run = await SandboxRunner.RunAsync(sandbox, workspace,
            ["python3", "-c", "b = bytearray(150 * 1024 * 1024); print('allocated')"], limits: small);
        Assert.Equal(Verdict.MemoryLimit, run.Result.Verdict);

        // The default-limit ready sandbox is still there, and a run of that shape can use 150 MiB.
        Assert.True(sandbox.ReadyCount >= 1);
        run = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "-c", "b = bytearray(150 * 1024 * 1024); print('allocated')"]);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("allocated\n", run.Stdout);
    }

    [Fact]
    public async Task The_environment_is_part_of_the_shape()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        var plain = await SandboxRunner.RunAsync(sandbox, workspace, ["sh", "-c", "echo \"[$COLOR]\""]);
        Assert.Equal("[]\n", plain.Stdout);
        await WaitUntilReadyAsync(sandbox);

        var colored = await SandboxRunner.RunAsync(sandbox, workspace, ["sh", "-c", "echo \"[$COLOR]\""],
            environment: new Dictionary<string, string> { ["COLOR"] = "blue" });
        Assert.Equal("[blue]\n", colored.Stdout);
    }

    [Fact]
    public async Task When_the_range_is_full_a_run_gets_the_uid_of_a_ready_sandbox()
    {
        // Two uids: the ready sandbox's and a running program's. A run of a third shape needs one of them.
        var sandbox = NewSandbox(uidCount: 2, warm: 1);
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
        await WaitUntilReadyAsync(sandbox);
        await using var holder = await sandbox.StartAsync(new SandboxSpec(
            ["sh", "-c", "echo up; cat > /dev/null"], workspace.Path, SandboxRunner.DefaultLimits with { MaxProcesses = 31 }), CancellationToken.None);
        var buffer = new byte[3];
        await holder.StandardOutput.ReadExactlyAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);
        Assert.Equal(1, sandbox.ReadyCount);

        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["echo", "a uid was found"], limits: SandboxRunner.DefaultLimits with { MaxProcesses = 32 });

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("a uid was found\n", run.Stdout);
        Assert.Equal([false, false, false], _log.Started);
        holder.StandardInput.Close();
        Assert.Equal(Verdict.Ok, (await holder.Completion.WaitAsync(SandboxRunner.Timeout)).Verdict);
    }

    [Fact]
    public async Task A_ready_sandbox_that_died_is_not_handed_out_and_the_run_starts_without_it()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
        await WaitUntilReadyAsync(sandbox);

        // The pool counts a sandbox as ready once its launch has started; its init takes the run's uid a moment
        // later (seconds on a loaded host). Killed before that, the init would come up after the kill and wait on.
        var deadline = DateTime.UtcNow + SandboxRunner.Timeout;
        while (!SandboxRunner.ProcessesOwnedBy(Uid, UidCount).Any(line => line.Contains("Name:\tinit", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the ready sandbox's init never took its uid");
            await Task.Delay(20);
        }

        // Something on the host ends the waiting sandbox (an operator, the OOM killer).
        foreach (var line in SandboxRunner.ProcessesOwnedBy(Uid, UidCount))
        {
            var pid = int.Parse(line.Split(' ')[0], CultureInfo.InvariantCulture);
            Execution.Sandboxing.Interop.Kill(pid, 9);
        }

        deadline = DateTime.UtcNow + SandboxRunner.Timeout;
        while (SandboxRunner.ProcessesOwnedBy(Uid, UidCount).Where(line => !line.Contains("State:\tZ", StringComparison.Ordinal)).ToList() is { Count: > 0 } left)
        {
            Assert.True(DateTime.UtcNow < deadline, "the killed sandbox did not go: " + string.Join(" | ", left));
            await Task.Delay(20);
        }

        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["echo", "still works"]);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("still works\n", run.Stdout);
        Assert.Equal([false, false], _log.Started);
    }

    [Fact]
    public async Task A_run_cannot_see_or_signal_a_ready_sandbox()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true", "ready another"]);
        await WaitUntilReadyAsync(sandbox);

        // A run of another shape (so the ready one stays ready) looks for other processes and tries
        // to kill every pid it can think of; the ready sandbox has another uid, pid namespace and cgroup.
        var run = await SandboxRunner.RunAsync(sandbox, workspace,
            ["sh", "-c", "ls /proc | grep -c '^[0-9]'; for p in $(seq 1 400); do [ $p -ne $$ ] && kill -9 $p 2>/dev/null; done; echo done"],
            limits: SandboxRunner.DefaultLimits with { MaxProcesses = 40 });
        Assert.Contains("done", run.Stdout, StringComparison.Ordinal);
        Assert.True(int.Parse(run.Stdout.Split('\n')[0], CultureInfo.InvariantCulture) <= 4, run.Stdout);

        run = await SandboxRunner.RunAsync(sandbox, workspace, ["echo", "ready one still works"]);
        Assert.Equal("ready one still works\n", run.Stdout);
        Assert.Equal([false, false, true], _log.Started);
    }

    [Fact]
    public async Task Ended_ready_sandboxes_leave_no_process_cgroup_or_mount()
    {
        var sandbox = NewSandbox();
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"], limits: SandboxRunner.DefaultLimits with { MaxProcesses = 33 });
        await WaitUntilReadyAsync(sandbox, 2);
        Assert.NotEmpty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));

        await sandbox.DiscardReadyAsync();

        Assert.Equal(0, sandbox.ReadyCount);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
        Assert.All(ParentPaths.Where(Directory.Exists), p => Assert.Empty(Directory.GetDirectories(p)));
        Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(sandbox.SlotDirectory, StringComparison.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(sandbox.SlotDirectory));
    }

    [Fact]
    public async Task What_a_crashed_server_left_in_its_runtime_folder_a_mounted_slot_included_is_swept_at_start()
    {
        var state = Directory.CreateTempSubdirectory("iris-state-").FullName;
        try
        {
            // A server killed while a sandbox was ready leaves its runtime folder, with the slot still
            // mounted, and no lock (the kernel dropped it with the process).
            var crashed = Path.Combine(state, "sandboxes", new string('a', 32));
            var slot = Path.Combine(crashed, "slots", "0123456789ab");
            Directory.CreateDirectory(slot);
            using (var mount = Process.Start("mount", ["-t", "tmpfs", "-o", "size=4k", "iris-slot", slot]))
            {
                await mount.WaitForExitAsync();
                Assert.Equal(0, mount.ExitCode);
            }

            Assert.Contains(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(slot, StringComparison.Ordinal));

            var sandbox = NewSandbox(stateDirectory: state);
            await sandbox.PrepareAsync(CancellationToken.None);

            Assert.False(Directory.Exists(crashed));
            Assert.DoesNotContain(File.ReadLines("/proc/self/mountinfo"), line => line.Contains(slot, StringComparison.Ordinal));
        }
        finally
        {
            foreach (var sandbox in _sandboxes)
            {
                await sandbox.DisposeAsync();
            }

            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task A_ready_sandbox_waits_with_the_least_cpu_weight_and_its_run_gets_the_default()
    {
        var sandbox = NewSandbox(warm: 1);
        using var workspace = new TestWorkspace();
        await SandboxRunner.RunAsync(sandbox, workspace, ["true"]);
        await WaitUntilReadyAsync(sandbox);

        var (weightFile, background, foreground) = _layout.Version == CgroupVersion.V2
            ? ("cpu.weight", "1", "100")
            : ("cpu.shares", "2", "1024");
        var cpuParent = _layout.Version == CgroupVersion.V2
            ? Path.Combine(_layout.UnifiedDirectory!, _cgroupParent)
            : Path.Combine(_layout.ControllerDirectories["cpu"], _cgroupParent);
        string Weight() => File.ReadAllText(Path.Combine(Assert.Single(Directory.GetDirectories(cpuParent)), weightFile)).Trim();
        Assert.Equal(background, Weight());

        string[] whileRunning = [];
        await SandboxRunner.RunAsync(sandbox, workspace, ["sh", "-c", "read line || true"], whileRunning: async _ =>
        {
            await Task.Yield();
            whileRunning = [.. Directory.GetDirectories(cpuParent).Select(d => File.ReadAllText(Path.Combine(d, weightFile)).Trim())];
        });

        // The run took the ready sandbox: its cgroup now has the default weight; a new ready one
        // (if it was being made already) waits in the background.
        Assert.Equal([false, true], _log.Started);
        Assert.Single(whileRunning, w => w == foreground);
        Assert.All(whileRunning, w => Assert.Contains(w, new[] { foreground, background }));
    }

    [Fact]
    public void The_shape_is_the_limits_environment_and_toolchain_not_the_command_or_workspace()
    {
        var limits = SandboxRunner.DefaultLimits;
        var a = new SandboxSpec(["python3", "a.py"], "/w/1", limits, new Dictionary<string, string> { ["X"] = "1", ["Y"] = "2" }, ["/usr/bin/python3"]);
        var b = new SandboxSpec(["sh", "-c", "x"], "/w/2", limits, new Dictionary<string, string> { ["Y"] = "2", ["X"] = "1" }, ["/usr/bin/python3"]);

        Assert.Equal(WarmShape.Of(a), WarmShape.Of(b));
        Assert.NotEqual(WarmShape.Of(a), WarmShape.Of(b with { Limits = limits with { CpuTime = TimeSpan.FromSeconds(6) } }));
        Assert.NotEqual(WarmShape.Of(a), WarmShape.Of(b with { Environment = new Dictionary<string, string> { ["X"] = "1" } }));
        Assert.NotEqual(WarmShape.Of(a), WarmShape.Of(b with { ToolchainPaths = null }));
        Assert.NotEqual(WarmShape.Of(a), WarmShape.Of(b with { ToolchainPaths = ["/usr/bin/node"] }));
    }
}

/// <summary>Whether each run started in a ready sandbox (true) or a new one (false), from the sandbox's own log.</summary>
internal sealed class StartLog : ILogger
{
    private readonly List<bool> _started = [];

    public IReadOnlyList<bool> Started
    {
        get
        {
            lock (_started)
            {
                return [.. _started];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (eventId.Id == 1000)
        {
            lock (_started)
            {
                _started.Add(formatter(state, exception).Contains("(ready sandbox)", StringComparison.Ordinal));
            }
        }
    }
}
