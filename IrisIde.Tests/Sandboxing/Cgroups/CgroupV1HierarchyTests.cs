using System.Diagnostics;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Cgroups;

/// <summary>cgroup v1 code paths against a fake root of plain files, for states the real tree cannot be put in safely.</summary>
public sealed class CgroupV1HierarchyTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("iris-cgroup-v1-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Touch(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    [Fact]
    public async Task A_run_a_dead_sandbox_left_frozen_is_killed_and_thawed_and_a_thawed_one_is_left_alone()
    {
        // What a worker killed between freezing a run and thawing it leaves behind: programs that can
        // neither run nor die. The next sandbox on the host releases them when it starts.
        using var frozen = Process.Start("sleep", "60");
        using var running = Process.Start("sleep", "60");
        Touch("freezer/iris/run-1/freezer.state", "FROZEN\n");
        Touch("freezer/iris/run-1/cgroup.procs", $"{frozen.Id}\n");
        Touch("freezer/iris/run-2/freezer.state", "THAWED\n");
        Touch("freezer/iris/run-2/cgroup.procs", $"{running.Id}\n");
        var controllers = new Dictionary<string, string> { ["freezer"] = Path.Combine(_root, "freezer"), ["memory"] = Path.Combine(_root, "memory") };

        Touch("memory/iris/memory.limit_in_bytes", "");

        var hierarchy = await CgroupHierarchyFactory.CreateAsync(
            new CgroupLayout(CgroupVersion.V1, null, controllers), "iris", new RunCapacity(1L << 30, 4096), CgroupFileSystem.Instance, NullLogger.Instance, CancellationToken.None);

        Assert.Equal("THAWED", File.ReadAllText(Path.Combine(_root, "freezer/iris/run-1/freezer.state")));
        await frozen.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(running.HasExited);
        Assert.Equal(CgroupVersion.V1, hierarchy.Version);
        running.Kill();
    }

    [Theory]
    [InlineData(268435456, 1)] // peaked at its own 256 MiB: its own limit
    [InlineData(157286400, 0)] // killed at 150 MiB: the parent (all runs together) was full
    public void An_oom_kill_counts_against_the_runs_own_limit_only_when_it_peaked_at_that_limit(long peak, long ownLimitHits)
    {
        var run = CreateRun();
        Touch("memory/iris/run-1/memory.max_usage_in_bytes", $"{peak}\n");
        Touch("memory/iris/run-1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");

        var usage = run.ReadUsage();

        Assert.Equal(1, usage.OomKills);
        Assert.Equal(ownLimitHits, usage.OwnMemoryLimitHits);
    }

    [Fact]
    public async Task Killing_an_empty_run_does_not_freeze_it_and_a_run_with_a_process_is_frozen_and_killed()
    {
        var run = CreateRun();
        Touch("freezer/iris/run-1/cgroup.procs", "");
        Touch("freezer/iris/run-1/freezer.state", "UNTOUCHED\n");
        var run2 = CreateRun(withFreezer: true);

        Assert.True(await run2.KillAllAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.Equal("UNTOUCHED\n", File.ReadAllText(Path.Combine(_root, "freezer/iris/run-1/freezer.state")));

        using var sleeper = Process.Start("sleep", "60");
        Touch("freezer/iris/run-1/cgroup.procs", $"{sleeper.Id}\n");
        await run2.KillAllAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        await sleeper.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("THAWED", File.ReadAllText(Path.Combine(_root, "freezer/iris/run-1/freezer.state")));
        _ = run;
    }

    private IRunCgroup CreateRun(bool withFreezer = false)
    {
        foreach (var file in new[] { "memory.limit_in_bytes", "memory.swappiness", "memory.usage_in_bytes", "memory.failcnt" })
        {
            Touch("memory/iris/run-1/" + file, "0\n");
        }

        Touch("pids/iris/run-1/pids.max", "");
        Touch("cpu/iris/run-1/cpu.cfs_period_us", "");
        Touch("cpu/iris/run-1/cpu.cfs_quota_us", "");
        Touch("cpuacct/iris/run-1/cpuacct.usage", "0\n");
        var controllers = (withFreezer ? new[] { "memory", "pids", "cpu", "cpuacct", "freezer" } : ["memory", "pids", "cpu", "cpuacct"])
            .ToDictionary(c => c, c => Path.Combine(_root, c));
        var hierarchy = new CgroupV1Hierarchy(controllers, "iris", new RunCapacity(1L << 30, 4096), CgroupFileSystem.Instance, NullLogger.Instance);
        return hierarchy.CreateRun("run-1", SandboxRunner.DefaultLimits);
    }
}
