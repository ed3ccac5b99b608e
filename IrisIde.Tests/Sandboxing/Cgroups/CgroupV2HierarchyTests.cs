using System.Diagnostics;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Cgroups;

/// <summary>The cgroup v2 code paths against a fake root of plain files (this machine runs v1).</summary>
public sealed class CgroupV2HierarchyTests : IDisposable
{
    private static readonly SandboxLimits Limits = new()
    {
        WallTime = TimeSpan.FromSeconds(10),
        CpuTime = TimeSpan.FromSeconds(5),
        MemoryBytes = 256L * 1024 * 1024,
        MaxProcesses = 64,
        MaxFileSizeBytes = 16L * 1024 * 1024,
        CpuCores = 1.5,
    };

    private readonly string _root = Directory.CreateTempSubdirectory("iris-cgroup-v2-").FullName;

    public CgroupV2HierarchyTests()
    {
        Touch("cgroup.controllers", "cpuset cpu io memory pids\n");
        Touch("cgroup.subtree_control", "");
        Touch("cgroup.procs", "");
        Touch("iris/cgroup.subtree_control", "");
        Touch("iris/memory.max", "max\n");
        Touch("iris/pids.max", "max\n");
        foreach (var file in new[] { "memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight", "cgroup.procs", "cgroup.kill" })
        {
            Touch("iris/run-1/" + file, "");
        }

        Touch("iris/run-1/cpu.stat", "usage_usec 1234567\nuser_usec 1000000\nsystem_usec 234567\n");
        Touch("iris/run-1/memory.peak", "52428800\n");
        Touch("iris/run-1/memory.current", "4096\n");
        Touch("iris/run-1/memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\noom_group_kill 0\n");
        Touch("iris/run-1/pids.events", "max 3\n");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Touch(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    private string Read(string relative) => File.ReadAllText(Path.Combine(_root, relative));

    private CgroupV2Hierarchy Hierarchy(ICgroupFileSystem? fileSystem = null) =>
        new(_root, "iris", Capacity, fileSystem ?? CgroupFileSystem.Instance, NullLogger.Instance);

    private static readonly RunCapacity Capacity = new(3L * 1024 * 1024 * 1024, 5000);

    [Fact]
    public void Creating_a_run_enables_controllers_and_writes_the_limits()
    {
        var run = Hierarchy().CreateRun("run-1", Limits);

        Assert.Equal("+memory +pids +cpu", Read("cgroup.subtree_control"));
        Assert.Equal("+memory +pids +cpu", Read("iris/cgroup.subtree_control"));
        Assert.Equal("3221225472", Read("iris/memory.max"));
        Assert.Equal("5000", Read("iris/pids.max"));
        Assert.Equal("268435456", Read("iris/run-1/memory.max"));
        Assert.Equal("0", Read("iris/run-1/memory.swap.max"));
        Assert.Equal("64", Read("iris/run-1/pids.max"));
        Assert.Equal("150000 100000", Read("iris/run-1/cpu.max"));
        Assert.Equal([Path.Combine(_root, "iris/run-1/cgroup.procs")], run.ProcessFiles);
    }

    [Fact]
    public void A_run_in_the_background_gets_the_least_cpu_weight_and_back_the_default()
    {
        var run = Hierarchy().CreateRun("run-1", Limits);

        run.SetBackground(true);
        Assert.Equal("1", Read("iris/run-1/cpu.weight"));
        run.SetBackground(false);
        Assert.Equal("100", Read("iris/run-1/cpu.weight"));
    }

    [Fact]
    public void Controllers_already_enabled_are_not_written_again()
    {
        Touch("cgroup.subtree_control", "cpu memory pids\n");

        Hierarchy().CreateRun("run-1", Limits);

        Assert.Equal("cpu memory pids\n", Read("cgroup.subtree_control"));
    }

    [Fact]
    public void Busy_parent_moves_its_processes_into_an_init_leaf_then_enables_controllers()
    {
        Touch("cgroup.procs", "4242\n");
        Touch("init/cgroup.procs", "");
        var fileSystem = new BusyOnceFileSystem(Path.Combine(_root, "cgroup.subtree_control"));

        Hierarchy(fileSystem).CreateRun("run-1", Limits);

        Assert.Equal("4242", Read("init/cgroup.procs"));
        Assert.Equal("+memory +pids +cpu", Read("cgroup.subtree_control"));
        Assert.True(fileSystem.Refused);
    }

    [Fact]
    public void Launcher_pid_goes_into_cgroup_procs()
    {
        var run = Hierarchy().CreateRun("run-1", Limits);

        run.AddProcess(Environment.ProcessId);

        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Read("iris/run-1/cgroup.procs"));
    }

    [Fact]
    public void Usage_is_read_from_cpu_stat_memory_peak_and_events()
    {
        var usage = Hierarchy().CreateRun("run-1", Limits).ReadUsage();

        Assert.Equal(TimeSpan.FromMicroseconds(1234567), usage.CpuTime);
        Assert.Equal(52428800, usage.PeakMemoryBytes);
        Assert.Equal(1, usage.OomKills);
        Assert.Equal(3, usage.ProcessLimitHits);
        Assert.Equal(1, usage.OwnMemoryLimitHits);
    }

    [Fact]
    public void Peak_memory_is_the_kernels_where_memory_peak_exists_and_sampled_from_memory_current_where_not()
    {
        var withPeak = Hierarchy().CreateRun("run-1", Limits);
        Assert.True(withPeak.RecordsPeakMemory);

        // Linux before 5.19 has no memory.peak: supervision then samples memory.current.
        File.Delete(Path.Combine(_root, "iris/run-1/memory.peak"));
        var withoutPeak = Hierarchy().CreateRun("run-1", Limits);
        Assert.False(withoutPeak.RecordsPeakMemory);
        Assert.Equal(4096, withoutPeak.ReadCurrentMemory());
    }

    [Fact]
    public void A_run_killed_because_the_parent_was_full_has_an_oom_kill_but_no_oom_of_its_own()
    {
        // The kernel counts "oom" where the limit was hit (the parent) and "oom_kill" where the victim lived.
        Touch("iris/run-1/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 1\noom_group_kill 0\n");

        var usage = Hierarchy().CreateRun("run-1", Limits).ReadUsage();

        Assert.Equal(1, usage.OomKills);
        Assert.Equal(0, usage.OwnMemoryLimitHits);
    }

    [Fact]
    public async Task Start_up_kills_the_runs_of_a_server_that_is_gone_and_leaves_a_live_servers_runs_alone()
    {
        // Our own pid with a start time that is not ours: what a crashed server whose pid was reused leaves.
        var gone = $"run-{RunCgroupName.PidNamespace()}-{Environment.ProcessId}-1-aaaaaaaaaaaa";
        var live = RunCgroupName.For("bbbbbbbbbbbb");
        using var leftover = Process.Start("sleep", "60");
        using var neighbour = Process.Start("sleep", "60");
        Touch($"iris/{gone}/cgroup.procs", $"{leftover.Id}\n");
        Touch($"iris/{gone}/cgroup.kill", "");
        Touch($"iris/{live}/cgroup.procs", $"{neighbour.Id}\n");
        Touch($"iris/{live}/cgroup.kill", "");

        var released = await Hierarchy().ReleaseLeftoverRunsAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, released);
        Assert.Equal("1", Read($"iris/{gone}/cgroup.kill"));
        await leftover.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("", Read($"iris/{live}/cgroup.kill"));
        Assert.False(neighbour.HasExited);
        neighbour.Kill();
    }

    [Fact]
    public async Task Kill_writes_cgroup_kill_and_ends_every_listed_process()
    {
        using var sleeper = Process.Start("sleep", "60");
        var run = Hierarchy().CreateRun("run-1", Limits);
        run.AddProcess(sleeper.Id);

        Assert.True(await run.KillAllAsync(TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("1", Read("iris/run-1/cgroup.kill"));
        await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Without_cgroup_kill_the_run_is_frozen_killed_and_thawed()
    {
        File.Delete(Path.Combine(_root, "iris/run-1/cgroup.kill"));
        Touch("iris/run-1/cgroup.freeze", "0");
        Touch("iris/run-1/cgroup.events", "populated 1\nfrozen 1\n");
        using var sleeper = Process.Start("sleep", "60");
        var run = Hierarchy().CreateRun("run-1", Limits);
        run.AddProcess(sleeper.Id);

        Assert.True(await run.KillAllAsync(TimeSpan.FromSeconds(10), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal("0", Read("iris/run-1/cgroup.freeze"));
        await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_run_a_dead_sandbox_left_frozen_is_killed_and_thawed_and_a_thawed_one_is_left_alone()
    {
        using var frozen = Process.Start("sleep", "60");
        using var running = Process.Start("sleep", "60");
        Touch("iris/run-1/cgroup.freeze", "1");
        Touch("iris/run-1/cgroup.procs", $"{frozen.Id}\n");
        Touch("iris/run-2/cgroup.freeze", "0");
        Touch("iris/run-2/cgroup.procs", $"{running.Id}\n");

        var released = Hierarchy().ReleaseFrozenRuns();

        Assert.Equal(1, released);
        Assert.Equal("0", Read("iris/run-1/cgroup.freeze"));
        await frozen.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(running.HasExited);
        running.Kill();
    }

    /// <summary>The real filesystem, except that the first write to one file fails like the kernel's EBUSY.</summary>
    private sealed class BusyOnceFileSystem(string busyFile) : ICgroupFileSystem
    {
        public bool Refused { get; private set; }

        public bool FileExists(string path) => CgroupFileSystem.Instance.FileExists(path);

        public bool DirectoryExists(string path) => CgroupFileSystem.Instance.DirectoryExists(path);

        public string ReadAllText(string path) => CgroupFileSystem.Instance.ReadAllText(path);

        public string? TryReadAllText(string path) => CgroupFileSystem.Instance.TryReadAllText(path);

        public void Write(string path, string value)
        {
            if (path == busyFile && !Refused)
            {
                Refused = true;
                throw new IOException("Device or resource busy", 16);
            }

            CgroupFileSystem.Instance.Write(path, value);
        }

        public void CreateDirectory(string path) => CgroupFileSystem.Instance.CreateDirectory(path);

        public void DeleteDirectory(string path) => CgroupFileSystem.Instance.DeleteDirectory(path);

        public IEnumerable<string> EnumerateDirectories(string path) => CgroupFileSystem.Instance.EnumerateDirectories(path);
    }
}
