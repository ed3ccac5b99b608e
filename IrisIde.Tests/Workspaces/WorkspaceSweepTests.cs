using IrisIde.Execution;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using static IrisIde.Tests.Workspaces.HostileTree;

namespace IrisIde.Tests.Workspaces;

/// <summary>
/// The sweep of the shared workspace root: what a crashed server left goes, a live server's stays. The
/// root is a private temp folder, so concurrent servers on this machine are never involved.
/// </summary>
public sealed class WorkspaceSweepTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _root = Directory.CreateTempSubdirectory("iris-sweep-tests-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("iris-sweep-outside-").FullName;
    private readonly List<WorkspaceArea> _areas = [];

    public void Dispose()
    {
        foreach (var area in _areas)
        {
            area.Dispose();
        }

        CleanUp(_root);
        Directory.Delete(_outside, recursive: true);
    }

    private WorkspaceArea Area()
    {
        var area = new WorkspaceArea(new WorkspaceSettings(_root, 64 * 1024 * 1024, 8192), NullLogger.Instance);
        _areas.Add(area);
        return area;
    }

    /// <summary>What a server killed mid-run leaves: an unlocked lock file, its folder, a mounted workspace full of hostile content.</summary>
    private (string Folder, string Workspace) PlantCrashedInstance()
    {
        var id = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(Path.Combine(_root, id + ".lock"), string.Empty);
        var folder = Directory.CreateDirectory(Path.Combine(_root, id)).FullName;
        var workspace = Directory.CreateDirectory(Path.Combine(folder, "run-0123456789ab")).FullName;
        Assert.Equal(0, Interop.Mount("iris-workspace", workspace, "tmpfs", Interop.MS_NOSUID | Interop.MS_NODEV, "size=16m,nr_inodes=8192,mode=0700"));
        var outsideFile = Path.Combine(_outside, "keep.txt");
        File.WriteAllText(outsideFile, "keep");
        Plant(workspace, outsideFile, _outside, manyFiles: 100);
        Directory.CreateDirectory(Path.Combine(folder, "run-plain")); // a fallback workspace, not mounted
        Plant(Path.Combine(folder, "run-plain"), outsideFile, _outside, manyFiles: 100);
        return (folder, workspace);
    }

    [Fact]
    public async Task A_crashed_servers_instance_is_swept_at_start_up_mounts_and_hostile_content_included()
    {
        var (folder, workspace) = PlantCrashedInstance();
        Assert.NotEmpty(MountTable.MountPointsUnder(folder));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Iris:Limits:WorkspaceRoot"] = _root,
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddIrisExecution(configuration).AddBubblewrapSandbox();
        await using var provider = services.BuildServiceProvider();
        var sweeper = provider.GetServices<IHostedService>().OfType<WorkspaceSweeper>().Single();

        await sweeper.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntilAsync(() => !Path.Exists(folder));
        }
        finally
        {
            await sweeper.StopAsync(CancellationToken.None);
        }

        Assert.False(Path.Exists(folder + ".lock"));
        Assert.Empty(MountTable.MountPointsUnder(folder));
        Assert.Null(WorkspaceTests.MountOf(workspace));
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(_outside, "keep.txt")));
    }

    [Fact]
    public async Task A_live_instances_workspaces_are_left_alone()
    {
        var live = Area();
        await using var workspace = live.Create();
        await File.WriteAllTextAsync(Path.Combine(workspace.Path, "main.py"), "print(1)");
        var (crashed, _) = PlantCrashedInstance();

        var removed = Area().Sweep();

        Assert.Equal([crashed], removed);
        Assert.True(File.Exists(Path.Combine(workspace.Path, "main.py")));
        Assert.NotNull(WorkspaceTests.MountOf(workspace.Path));
        Assert.True(File.Exists(live.InstancePath + ".lock"));
    }

    [Fact]
    public void A_lock_held_through_a_FileStream_with_FileShare_None_also_keeps_the_folder()
    {
        var (folder, _) = PlantCrashedInstance();
        var sweeper = Area();

        // .NET takes flock(LOCK_EX) for FileShare.None on Unix: the same lock the instances take.
        using (new FileStream(folder + ".lock", FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.Empty(sweeper.Sweep());
            Assert.True(Path.Exists(folder));
        }

        Assert.Equal([folder], sweeper.Sweep());
        Assert.False(Path.Exists(folder));
    }

    [Fact]
    public void A_folder_without_its_lock_file_is_swept()
    {
        var (folder, _) = PlantCrashedInstance();
        File.Delete(folder + ".lock");

        Assert.Equal([folder], Area().Sweep());
        Assert.False(Path.Exists(folder));
        Assert.Empty(MountTable.MountPointsUnder(folder));
    }

    [Fact]
    public void Old_layout_workspaces_are_swept_once_no_run_can_still_use_them()
    {
        var old = Directory.CreateDirectory(Path.Combine(_root, "run-old")).FullName;
        Plant(old, Path.Combine(_outside, "x"), _outside, manyFiles: 10);
        var oldTime = DateTime.UtcNow - WorkspaceArea.LegacyMinimumAge - TimeSpan.FromMinutes(5);
        Directory.SetLastWriteTimeUtc(old, oldTime);
        var recent = Directory.CreateDirectory(Path.Combine(_root, "run-recent")).FullName;

        var removed = Area().Sweep();

        Assert.Equal([old], removed);
        Assert.True(Directory.Exists(recent));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
