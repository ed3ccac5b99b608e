using IrisIde.Execution.Workspaces;
using static IrisIde.Tests.Workspaces.HostileTree;

namespace IrisIde.Tests.Workspaces;

/// <summary>The descriptor walk that deletes and copies what hostile programs leave (no tmpfs involved).</summary>
public sealed class WorkspaceTreeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _root = Directory.CreateTempSubdirectory("iris-tree-tests-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("iris-tree-outside-").FullName;
    private readonly string _outsideFile;
    private readonly string _outsideFolder;

    public WorkspaceTreeTests()
    {
        _outsideFile = Path.Combine(_outside, "keep.txt");
        File.WriteAllText(_outsideFile, "keep");
        _outsideFolder = Directory.CreateDirectory(Path.Combine(_outside, "dir")).FullName;
        File.WriteAllText(Path.Combine(_outsideFolder, "keep.txt"), "keep");
    }

    public void Dispose()
    {
        CleanUp(_root);
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public async Task Delete_removes_every_hostile_entry_and_no_link_target()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_root, "tree")).FullName;
        Plant(tree, _outsideFile, _outsideFolder);

        // A FIFO opened by mistake would block: the timeout turns that into a failure.
        await Task.Run(() => WorkspaceTree.Delete(tree)).WaitAsync(Timeout);

        Assert.False(Path.Exists(tree));
        Assert.Empty(Directory.EnumerateFileSystemEntries(_root));
        Assert.Equal("keep", await File.ReadAllTextAsync(_outsideFile));
        Assert.Equal("keep", await File.ReadAllTextAsync(Path.Combine(_outsideFolder, "keep.txt")));
    }

    [Fact]
    public async Task Delete_removes_many_files_and_folders()
    {
        var tree = Directory.CreateDirectory(Path.Combine(_root, "tree")).FullName;
        Plant(tree, _outsideFile, _outsideFolder, manyFiles: 20_000);
        var root = OpenFolder(tree);
        for (var i = 0; i < 2000; i++)
        {
            var name = System.Text.Encoding.ASCII.GetBytes($"d{i}");
            MakeFolder(root, name);
            var folder = OpenFolder(root, name);
            WriteFile(folder, InvalidUtf8, "x"u8);
            Close(folder);
        }

        Close(root);

        await Task.Run(() => WorkspaceTree.Delete(tree)).WaitAsync(Timeout);

        Assert.False(Path.Exists(tree));
    }

    [Fact]
    public void Delete_of_a_link_removes_the_link_only()
    {
        var link = Path.Combine(_root, "link");
        File.CreateSymbolicLink(link, _outsideFolder);

        WorkspaceTree.Delete(link);

        Assert.False(Path.Exists(link));
        Assert.True(File.Exists(Path.Combine(_outsideFolder, "keep.txt")));
    }

    [Fact]
    public void Delete_of_a_missing_folder_is_not_an_error()
    {
        WorkspaceTree.Delete(Path.Combine(_root, "missing"));
    }

    [Fact]
    public async Task Copy_keeps_raw_names_and_depth_recreates_links_unfollowed_and_never_opens_a_fifo()
    {
        var source = Directory.CreateDirectory(Path.Combine(_root, "source")).FullName;
        var copy = Directory.CreateDirectory(Path.Combine(_root, "copy")).FullName;
        Plant(source, _outsideFile, _outsideFolder, manyFiles: 100);

        await Task.Run(() => WorkspaceTree.Copy(source, copy)).WaitAsync(Timeout);

        var fd = OpenFolder(copy);
        try
        {
            Assert.Equal(Interop.FileTypeRegular, Stat(fd, InvalidUtf8).Type);
            Assert.Equal(64ul * 1024, Stat(fd, InvalidUtf8).Size);
            Assert.True(Exists(fd, Newline));
            Assert.Equal(Interop.FileTypeDirectory, Stat(fd, FolderWithBadName).Type);
            Assert.Equal((ChainDepth, true), MeasureChain(fd));
            Assert.Equal(Interop.FileTypeRegular, Stat(fd, "fifo"u8.ToArray()).Type);
            Assert.Equal(Interop.FileTypeRegular, Stat(fd, "sock"u8.ToArray()).Type);
            Assert.Equal(Interop.FileTypeLink, Stat(fd, "filelink"u8.ToArray()).Type);
            Assert.Equal(_outsideFile, ReadLink(fd, "filelink"u8.ToArray()));
            Assert.Equal("loop", ReadLink(fd, "loop"u8.ToArray()));
            Assert.Equal(0u, Stat(fd, "locked"u8.ToArray()).Permissions);
            Assert.Equal(100, Directory.EnumerateFiles(Path.Combine(copy, "many")).Count());
        }
        finally
        {
            Close(fd);
        }

        Assert.Equal("keep", await File.ReadAllTextAsync(_outsideFile));
        Assert.Equal(["keep.txt"], Directory.EnumerateFileSystemEntries(_outsideFolder).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Copy_keeps_file_content_and_permission_bits_but_no_set_id_bits()
    {
        var source = Directory.CreateDirectory(Path.Combine(_root, "source")).FullName;
        var copy = Directory.CreateDirectory(Path.Combine(_root, "copy")).FullName;
        var program = Path.Combine(source, "main");
        var content = new byte[300_000];
        Random.Shared.NextBytes(content);
        await File.WriteAllBytesAsync(program, content);
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.SetUser | UnixFileMode.OtherRead);
        var folder = Directory.CreateDirectory(Path.Combine(source, "pkg"));
        folder.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserExecute;

        WorkspaceTree.Copy(source, copy);

        Assert.Equal(content, await File.ReadAllBytesAsync(Path.Combine(copy, "main")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.OtherRead, File.GetUnixFileMode(Path.Combine(copy, "main")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(copy, "pkg")));
    }
}
