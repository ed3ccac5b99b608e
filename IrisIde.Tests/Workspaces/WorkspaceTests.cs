using IrisIde.Execution.Workspaces;

namespace IrisIde.Tests.Workspaces;

public sealed class WorkspaceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("iris-ws-tests-").FullName;
    private readonly string _outside = Directory.CreateTempSubdirectory("iris-ws-outside-").FullName;

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
        Directory.Delete(_outside, recursive: true);
    }

    [Fact]
    public async Task Each_workspace_is_a_fresh_private_folder()
    {
        await using var first = Workspace.Create(_root);
        await using var second = Workspace.Create(_root);

        Assert.NotEqual(first.Path, second.Path);
        Assert.Empty(Directory.EnumerateFileSystemEntries(first.Path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(first.Path));
    }

    [Fact]
    public async Task Writing_never_follows_a_planted_link()
    {
        var target = Path.Combine(_outside, "victim.txt");
        await File.WriteAllTextAsync(target, "original");
        var workspace = Workspace.Create(_root);
        File.CreateSymbolicLink(Path.Combine(workspace.Path, "main.c"), target);

        await Assert.ThrowsAsync<IOException>(() => workspace.WriteFileAsync("main.c", "overwritten", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        await workspace.DisposeAsync();

        Assert.Equal("original", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Writing_rejects_an_invalid_name()
    {
        await using var workspace = Workspace.Create(_root);

        await Assert.ThrowsAsync<ArgumentException>(() => workspace.WriteFileAsync("../escape.c", "x", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(File.Exists(Path.Combine(_root, "escape.c")));
    }

    [Fact]
    public async Task Deleting_removes_links_and_special_files_without_touching_their_targets()
    {
        var victimDir = Path.Combine(_outside, "dir");
        Directory.CreateDirectory(victimDir);
        await File.WriteAllTextAsync(Path.Combine(victimDir, "keep.txt"), "keep");
        var victimFile = Path.Combine(_outside, "keep-too.txt");
        await File.WriteAllTextAsync(victimFile, "keep");

        var workspace = Workspace.Create(_root);
        await workspace.WriteFileAsync("main.py", "print(1)", CancellationToken.None);
        File.CreateSymbolicLink(Path.Combine(workspace.Path, "dirlink"), victimDir);
        File.CreateSymbolicLink(Path.Combine(workspace.Path, "filelink"), victimFile);
        var nested = Directory.CreateDirectory(Path.Combine(workspace.Path, "nested", "deeper"));
        File.CreateSymbolicLink(Path.Combine(nested.FullName, "up"), _outside);
        Assert.Equal(0, Mkfifo(Path.Combine(workspace.Path, "fifo"), 0x1B6));
        var locked = Directory.CreateDirectory(Path.Combine(workspace.Path, "locked"));
        await File.WriteAllTextAsync(Path.Combine(locked.FullName, "inner.txt"), "x");
        locked.UnixFileMode = UnixFileMode.None;

        await workspace.DisposeAsync();

        Assert.False(Directory.Exists(workspace.Path));
        Assert.True(File.Exists(Path.Combine(victimDir, "keep.txt")));
        Assert.True(File.Exists(victimFile));
        Assert.True(Directory.Exists(_outside));
    }

    [Fact]
    public async Task A_copy_keeps_files_folders_and_modes_recreates_links_unfollowed_and_never_opens_a_fifo()
    {
        var victimFile = Path.Combine(_outside, "secret.txt");
        await File.WriteAllTextAsync(victimFile, "host secret");
        await using var source = Workspace.Create(_root);
        var program = Path.Combine(source.Path, "main");
        await File.WriteAllTextAsync(program, "#!/bin/sh\necho hi\n");
        File.SetUnixFileMode(program, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.SetUser);
        var classes = Directory.CreateDirectory(Path.Combine(source.Path, "pkg"));
        await File.WriteAllTextAsync(Path.Combine(classes.FullName, "Util.class"), "bytes");
        await File.WriteAllTextAsync(Path.Combine(source.Path, "empty"), string.Empty);
        File.CreateSymbolicLink(Path.Combine(source.Path, "link"), victimFile);
        Assert.Equal(0, Mkfifo(Path.Combine(source.Path, "fifo"), 0x1B6));

        // A copy that opened the FIFO would block forever: the timeout turns that into a failure.
        await using var copy = await Task.Run(() => Workspace.CreateCopyOf(source.Path, _root)).WaitAsync(TimeSpan.FromSeconds(10));

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
        await using var source = Workspace.Create(_root);
        await source.WriteFileAsync("main.py", "print(1)", CancellationToken.None);
        await using var copy = Workspace.CreateCopyOf(source.Path, _root);

        await File.WriteAllTextAsync(Path.Combine(copy.Path, "main.py"), "changed");
        await File.WriteAllTextAsync(Path.Combine(copy.Path, "new.txt"), "new");

        Assert.Equal("print(1)", await File.ReadAllTextAsync(Path.Combine(source.Path, "main.py")));
        Assert.False(File.Exists(Path.Combine(source.Path, "new.txt")));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int Mkfifo(string path, int mode);
}
