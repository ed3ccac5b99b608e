using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>One real bubblewrap sandbox (real cgroups, a cgroup parent of its own) shared by the tests of a class.</summary>
public sealed class BubblewrapSandboxFixture : IDisposable
{
    // Not the default range (61000–61999): other tests in this process run sandboxes too, and these
    // tests count the leftover processes of their own uids.
    public const int Uid = 63000;

    public const int UidCount = 16;

    // This test process's own cgroups, which every runs' parent a test makes is below.
    private static readonly CgroupLayout Layout = CgroupLayout.DetectCurrent("/sys/fs/cgroup");

    public BubblewrapSandboxFixture()
    {
        // A parent per fixture, so runs of another test process on the same machine are not ours to count.
        Options = new BubblewrapOptions { Uid = Uid, UidCount = UidCount, CgroupParent = "iris-tests-" + Guid.NewGuid().ToString("N")[..8] };
        Sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(Options), SandboxRunner.HostCapacity, NullLogger<BubblewrapSandbox>.Instance);
    }

    public BubblewrapOptions Options { get; }

    public BubblewrapSandbox Sandbox { get; }

    /// <summary>Where run cgroups appear (and must disappear): below the parent, in every hierarchy.</summary>
    public IEnumerable<string> CgroupParentPaths => ParentPathsOf(Options.CgroupParent);

    /// <summary>The folders of the runs' parent cgroup <paramref name="cgroupParent"/> (below this process's own), in every hierarchy.</summary>
    public static IEnumerable<string> ParentPathsOf(string cgroupParent) => Layout.Version == CgroupVersion.V2
            ? [Path.Combine(Layout.UnifiedDirectory!, cgroupParent)]
            : Layout.ControllerDirectories.Values.Distinct().Select(d => Path.Combine(d, cgroupParent));

    /// <summary>Removes the runs' parent cgroup a test made (its runs' cgroups must be gone already).</summary>
    public static void DeleteParent(string cgroupParent)
    {
        foreach (var path in ParentPathsOf(cgroupParent).Where(Directory.Exists))
        {
            Directory.Delete(path);
        }
    }

    public bool RunCgroupsAreGone => CgroupParentPaths.All(p => !Directory.Exists(p) || Directory.GetDirectories(p).Length == 0);

    /// <summary>
    /// The check after every hostile run: nothing of the run is left (processes of the sandbox uids, the
    /// run's cgroup), and a hello-world run right after works and leaves nothing either. The sandboxes
    /// kept ready for the next run are ended first (and must leave nothing themselves).
    /// </summary>
    public async Task AssertNothingLeftAndHelloWorldWorksAsync()
    {
        await Sandbox.DiscardReadyAsync();
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
        Assert.True(RunCgroupsAreGone, "the run's cgroup was not removed");
        using var workspace = new TestWorkspace();
        var run = await SandboxRunner.RunAsync(Sandbox, workspace, ["python3", "-c", "print('hello again')"]);
        Assert.Equal(Verdict.Ok, run.Result.Verdict);
        Assert.Equal("hello again\n", run.Stdout);
        await Sandbox.DiscardReadyAsync();
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(Uid, UidCount));
        Assert.True(RunCgroupsAreGone, "a cgroup was not removed");
    }

    public void Dispose()
    {
        Sandbox.Dispose();
        DeleteParent(Options.CgroupParent);
    }
}
