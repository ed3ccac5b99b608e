using System.Diagnostics;
using System.Globalization;
using System.Text;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// The parent cgroup of all runs, on this machine's real cgroups: a small capacity that two runs
/// together outgrow, so the kernel has to kill one of them, and the test process survives it.
/// </summary>
[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed class BubblewrapCapacityTests : IDisposable
{
    private const long MiB = 1024L * 1024;

    // Not the other fixtures' uids: they count leftover processes of theirs.
    private const int Uid = 63020;

    private const int UidCount = 40;

    private static readonly RunCapacity SmallCapacity = new(200 * MiB, 500);

    private readonly CgroupLayout _layout = CgroupLayout.DetectCurrent("/sys/fs/cgroup");
    private readonly BubblewrapOptions _options = new() { Uid = Uid, UidCount = UidCount, CgroupParent = "iris-capacity-tests-" + Guid.NewGuid().ToString("N")[..8] };
    private readonly List<BubblewrapSandbox> _sandboxes = [];

    private BubblewrapSandbox NewSandbox()
    {
        var sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(_options), SmallCapacity, NullLogger<BubblewrapSandbox>.Instance);
        _sandboxes.Add(sandbox);
        return sandbox;
    }

    private IEnumerable<string> ParentPaths => BubblewrapSandboxFixture.ParentPathsOf(_options.CgroupParent);

    private string ParentFile(string controller, string file) => _layout.Version == CgroupVersion.V2
        ? Path.Combine(_layout.UnifiedDirectory!, _options.CgroupParent, file)
        : Path.Combine(_layout.ControllerDirectories[controller], _options.CgroupParent, file);

    public void Dispose()
    {
        foreach (var sandbox in _sandboxes)
        {
            sandbox.Dispose();
        }

        foreach (var path in ParentPaths.Where(Directory.Exists))
        {
            Directory.Delete(path);
        }
    }

    [Fact]
    public async Task Runs_go_under_one_parent_limited_to_the_capacity()
    {
        using var workspace = new TestWorkspace();

        var memoryLimit = _layout.Version == CgroupVersion.V2 ? "memory.max" : "memory.limit_in_bytes";
        var parent = Path.GetDirectoryName(ParentFile("memory", memoryLimit))!;
        string[] runsWhileRunning = [];

        var sandbox = NewSandbox();
        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["sh", "-c", "read line || true"], whileRunning: async _ =>
        {
            // The sandbox kept ready for the next run has a cgroup there too: ended first.
            await sandbox.DiscardReadyAsync();
            runsWhileRunning = Directory.GetDirectories(parent).Select(Path.GetFileName).OfType<string>().ToArray();
        });

        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        var only = Assert.Single(runsWhileRunning);
        Assert.StartsWith(RunCgroupName.For(""), only, StringComparison.Ordinal);
        Assert.Equal((200 * MiB).ToString(CultureInfo.InvariantCulture), File.ReadAllText(ParentFile("memory", memoryLimit)).Trim());
        Assert.Equal("500", File.ReadAllText(ParentFile("pids", "pids.max")).Trim());
        await sandbox.DiscardReadyAsync();
        Assert.True(Directory.GetDirectories(parent).Length == 0, "the run's cgroup was not removed");
    }

    [Fact]
    public async Task Runs_that_together_outgrow_the_capacity_are_killed_with_the_server_full_verdict_not_the_server()
    {
        // Each run may use 256 MiB on its own, but two of 150 MiB do not fit in 200 MiB together.
        var limits = SandboxRunner.DefaultLimits with { MemoryBytes = 256 * MiB, WallTime = TimeSpan.FromSeconds(30) };
        const string Program = "import sys\nb = b'x' * (150 << 20)\nprint('allocated', flush=True)\nsys.stdin.read()\n";
        var sandbox = NewSandbox();
        using var firstWorkspace = new TestWorkspace();
        using var secondWorkspace = new TestWorkspace();

        await using var first = await sandbox.StartAsync(new SandboxSpec(["python3", "-c", Program], firstWorkspace.Path, limits), CancellationToken.None)
            .WaitAsync(SandboxRunner.Timeout);
        var firstOutput = await ReadUntilAllocatedOrEndAsync(first);
        Assert.Equal("allocated\n", firstOutput);

        await using var second = await sandbox.StartAsync(new SandboxSpec(["python3", "-c", Program], secondWorkspace.Path, limits), CancellationToken.None)
            .WaitAsync(SandboxRunner.Timeout);
        await ReadUntilAllocatedOrEndAsync(second);

        // Let the survivor finish: it waits for the end of its input.
        foreach (var process in new[] { first, second })
        {
            try
            {
                await process.StandardInput.DisposeAsync().AsTask().WaitAsync(SandboxRunner.Timeout);
            }
            catch (IOException)
            {
                // Killed already.
            }
        }

        SandboxResult[] results = [await first.Completion.WaitAsync(SandboxRunner.Timeout), await second.Completion.WaitAsync(SandboxRunner.Timeout)];
        var summary = string.Join("; ", results.Select(r => $"{r.Verdict} {r.Message} peak {r.PeakMemoryBytes}"));
        Assert.Contains(results, r => r.Verdict == Verdict.MemoryLimit && r.Message == RunCapacity.ServerFullMessage);
        Assert.DoesNotContain(results, r => r.Message?.StartsWith("Memory limit of", StringComparison.Ordinal) == true);
        Assert.All(results, r => Assert.True(r.Verdict is Verdict.Ok or Verdict.MemoryLimit, summary));
    }

    [Fact]
    public async Task A_starting_server_kills_and_removes_a_run_left_by_a_server_that_is_gone_and_limits_the_parent()
    {
        // What a crashed server leaves: a run cgroup with a process in it, named after an owner that is
        // gone (our pid, but another start time: the pid was reused).
        var name = $"run-{RunCgroupName.PidNamespace()}-{Environment.ProcessId}-1-0123456789ab";
        using var leftover = Process.Start("sleep", "600")!;
        var runDirectories = _layout.Version == CgroupVersion.V2
            ? [Path.Combine(_layout.UnifiedDirectory!, _options.CgroupParent, name)]
            : new[] { "memory", "pids", "cpu", "cpuacct", "freezer" }
                .Where(_layout.ControllerDirectories.ContainsKey)
                .Select(c => Path.Combine(_layout.ControllerDirectories[c], _options.CgroupParent, name))
                .Distinct()
                .ToArray();
        foreach (var directory in runDirectories)
        {
            Directory.CreateDirectory(directory);
            File.WriteAllText(Path.Combine(directory, "cgroup.procs"), leftover.Id.ToString(CultureInfo.InvariantCulture));
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Uid"] = Uid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = UidCount.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:CgroupParent"] = _options.CgroupParent,
            ["Iris:Sandbox:Capacity:MemoryBytes"] = (200 * MiB).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:Capacity:MaxProcesses"] = "500",
        });
        builder.Services.AddBubblewrapSandbox();
        using var host = builder.Build();

        // No run: starting the host is enough.
        await host.StartAsync().WaitAsync(SandboxRunner.Timeout);

        await leftover.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        Assert.All(runDirectories, d => Assert.False(Directory.Exists(d), d));
        var memoryLimit = _layout.Version == CgroupVersion.V2 ? "memory.max" : "memory.limit_in_bytes";
        Assert.Equal((200 * MiB).ToString(CultureInfo.InvariantCulture), File.ReadAllText(ParentFile("memory", memoryLimit)).Trim());
        Assert.Equal("500", File.ReadAllText(ParentFile("pids", "pids.max")).Trim());
        await host.StopAsync().WaitAsync(SandboxRunner.Timeout);
    }

    private static async Task<string> ReadUntilAllocatedOrEndAsync(ISandboxProcess process)
    {
        var output = new StringBuilder();
        var buffer = new byte[64];
        while (!output.ToString().Contains('\n', StringComparison.Ordinal))
        {
            var read = await process.StandardOutput.ReadAsync(buffer).AsTask().WaitAsync(SandboxRunner.Timeout);
            if (read == 0)
            {
                break;
            }

            output.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return output.ToString();
    }
}
