using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Logging.Abstractions;
using static IrisIde.Tests.Workspaces.HostileTree;

namespace IrisIde.Tests.Workspaces;

/// <summary>Workspaces as runs get them: tmpfs mounts with caps (the tests run as root), or plain folders.</summary>
public sealed class WorkspaceTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _root = Directory.CreateTempSubdirectory("iris-ws-tests-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("iris-ws-outside-").FullName;
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

    private WorkspaceArea Area(long sizeBytes = 64 * 1024 * 1024, long inodes = 8192, bool tmpfs = true)
    {
        var area = new WorkspaceArea(new WorkspaceSettings(_root, sizeBytes, inodes) { MountTmpfs = tmpfs }, NullLogger.Instance);
        _areas.Add(area);
        return area;
    }

    [Fact]
    public async Task Each_workspace_is_a_fresh_private_folder()
    {
        var area = Area();
        await using var first = area.Create();
        await using var second = area.Create();

        Assert.NotEqual(first.Path, second.Path);
        Assert.Empty(Directory.EnumerateFileSystemEntries(first.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(first.Path));
        Assert.StartsWith(area.InstancePath + "/", first.Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_workspace_is_a_tmpfs_mount_with_both_caps_and_nothing_of_it_is_left_after_dispose()
    {
        var workspace = Area(sizeBytes: 8 * 1024 * 1024, inodes: 500).Create();

        var mount = MountOf(workspace.Path);
        Assert.True(workspace.IsMount);
        Assert.NotNull(mount);
        Assert.Equal("tmpfs", mount.Value.Type);
        Assert.Contains("nosuid", mount.Value.Options.Split(','));
        Assert.Contains("nodev", mount.Value.Options.Split(','));
        Assert.Contains("size=8192k", mount.Value.SuperOptions.Split(','));
        Assert.Contains("nr_inodes=500", mount.Value.SuperOptions.Split(','));
        Assert.Contains("mode=700", mount.Value.SuperOptions.Split(','));

        await workspace.DisposeAsync();

        Assert.Null(MountOf(workspace.Path));
        Assert.False(Path.Exists(workspace.Path));
    }

    [Fact]
    public async Task Past_the_inode_cap_creating_a_file_fails_with_no_space_inside_the_workspace_only()
    {
        await using var workspace = Area(inodes: 100).Create();

        var created = 0;
        var error = Assert.Throws<IOException>(() =>
        {
            for (; created < 10_000; created++)
            {
                File.WriteAllBytes(Path.Combine(workspace.Path, $"f{created}"), []);
            }
        });

        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
        Assert.InRange(created, 90, 99);
        File.WriteAllText(Path.Combine(_root, "host-still-writable"), "yes");
    }

    [Fact]
    public async Task Past_the_byte_cap_writing_fails_with_no_space()
    {
        await using var workspace = Area(sizeBytes: 2 * 1024 * 1024).Create();

        var error = Assert.Throws<IOException>(() => File.WriteAllBytes(Path.Combine(workspace.Path, "big"), new byte[3 * 1024 * 1024]));

        Assert.Contains("No space left on device", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Hostile_content_is_removed_and_no_link_target_is_touched(bool tmpfs)
    {
        var outsideFile = Path.Combine(_outside, "keep.txt");
        await File.WriteAllTextAsync(outsideFile, "keep");
        var outsideFolder = Directory.CreateDirectory(Path.Combine(_outside, "dir")).FullName;
        await File.WriteAllTextAsync(Path.Combine(outsideFolder, "keep.txt"), "keep");
        var area = Area(tmpfs: tmpfs);
        var workspace = area.Create();
        Assert.Equal(tmpfs, workspace.IsMount);
        Plant(workspace.Path, outsideFile, outsideFolder);

        await workspace.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.False(Path.Exists(workspace.Path));
        Assert.Empty(Directory.EnumerateFileSystemEntries(area.InstancePath));
        Assert.Empty(MountTable.MountPointsUnder(area.InstancePath));
        Assert.Equal("keep", await File.ReadAllTextAsync(outsideFile));
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(outsideFolder, "keep.txt")));
    }

    [Fact]
    public async Task Writing_never_follows_a_planted_link()
    {
        var target = Path.Combine(_outside, "victim.txt");
        await File.WriteAllTextAsync(target, "original");
        var workspace = Area().Create();
        File.CreateSymbolicLink(Path.Combine(workspace.Path, "main.c"), target);

        await Assert.ThrowsAsync<IOException>(() => workspace.WriteFileAsync("main.c", "overwritten", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        await workspace.DisposeAsync();

        Assert.Equal("original", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Writing_rejects_an_invalid_name()
    {
        await using var workspace = Area().Create();

        await Assert.ThrowsAsync<ArgumentException>(() => workspace.WriteFileAsync("../escape.c", "x", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(workspace.Path)!, "escape.c")));
    }

    [Fact]
    public async Task A_copy_keeps_files_folders_and_modes_recreates_links_unfollowed_and_never_opens_a_fifo()
    {
        var area = Area();
        var victimFile = Path.Combine(_outside, "secret.txt");
        await File.WriteAllTextAsync(victimFile, "host secret");
        await using var source = area.Create();
        var program = Path.Combine(source.Path, "main");
        await File.WriteAllTextAsync(program, "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.SetUser);
        var classes = Directory.CreateDirectory(Path.Combine(source.Path, "pkg"));
        await File.WriteAllTextAsync(Path.Combine(classes.FullName, "Util.class"), "bytes");
        await File.WriteAllTextAsync(Path.Combine(source.Path, "empty"), string.Empty);
        File.CreateSymbolicLink(Path.Combine(source.Path, "link"), victimFile);
        var fd = OpenFolder(source.Path);
        MakeFifo(fd, "fifo"u8.ToArray());
        Close(fd);

        // A copy that opened the FIFO would block forever: the timeout turns that into a failure.
        await using var copy = await Task.Run(() => area.CreateCopyOf(source.Path)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(copy.IsMount);
        Assert.NotEqual(source.Path, copy.Path);
        Assert.Equal("#!/bin/sh\necho hi\n", await File.ReadAllTextAsync(Path.Combine(copy.Path, "main")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(copy.Path, "main")));
        Assert.Equal("bytes", await File.ReadAllTextAsync(Path.Combine(copy.Path, "pkg", "Util.class")));
        Assert.Equal(string.Empty, await File.ReadAllTextAsync(Path.Combine(copy.Path, "empty")));
        Assert.Equal(victimFile, new FileInfo(Path.Combine(copy.Path, "link")).LinkTarget);
        var fifo = new FileInfo(Path.Combine(copy.Path, "fifo"));
        Assert.Null(fifo.LinkTarget);
        Assert.Equal(0, fifo.Length);
        Assert.Equal("host secret", await File.ReadAllTextAsync(victimFile));
    }

    [Fact]
    public async Task A_copy_is_independent_of_its_source()
    {
        var area = Area();
        await using var source = area.Create();
        await source.WriteFileAsync("main.py", "print(1)", CancellationToken.None);
        await using var copy = area.CreateCopyOf(source.Path);

        await File.WriteAllTextAsync(Path.Combine(copy.Path, "main.py"), "changed");
        await File.WriteAllTextAsync(Path.Combine(copy.Path, "new.txt"), "new");

        Assert.Equal("print(1)", await File.ReadAllTextAsync(Path.Combine(source.Path, "main.py")));
        Assert.False(File.Exists(Path.Combine(source.Path, "new.txt")));
    }

    [Fact]
    public async Task A_copy_that_does_not_fit_fails_clearly_and_leaves_nothing()
    {
        var big = Area(sizeBytes: 8 * 1024 * 1024);
        var small = Area(sizeBytes: 1024 * 1024);
        await using var source = big.Create();
        await File.WriteAllBytesAsync(Path.Combine(source.Path, "program"), new byte[2 * 1024 * 1024]);

        var error = Assert.Throws<IOException>(() => small.CreateCopyOf(source.Path));

        Assert.Contains("could not be copied", error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(small.InstancePath));
        Assert.Empty(MountTable.MountPointsUnder(small.InstancePath));
    }

    [Fact]
    public async Task Disposing_the_area_unmounts_and_removes_its_folder_and_lock()
    {
        var area = Area();
        var workspace = area.Create();
        await File.WriteAllTextAsync(Path.Combine(workspace.Path, "left"), "open");
        var instance = area.InstancePath;

        area.Dispose();

        Assert.False(Path.Exists(instance));
        Assert.False(Path.Exists(instance + ".lock"));
        Assert.Empty(MountTable.MountPointsUnder(instance));
        Assert.Throws<ObjectDisposedException>(() => area.Create());
    }

    /// <summary>The mountinfo entry of <paramref name="path"/>, if it is a mount point.</summary>
    internal static (string Options, string Type, string SuperOptions)? MountOf(string path)
    {
        foreach (var line in File.ReadLines("/proc/self/mountinfo"))
        {
            var fields = line.Split(' ');
            if (MountTable.ParseMountPoint(line) == path)
            {
                var separator = Array.IndexOf(fields, "-");
                return (fields[5], fields[separator + 1], fields[separator + 3]);
            }
        }

        return null;
    }
}
