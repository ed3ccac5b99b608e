namespace IrisIde.Execution.Workspaces;

/// <summary>
/// One run's workspace: the sources go in, the sandbox works in it, and it is removed afterwards. Made by
/// <see cref="WorkspaceArea"/>: a tmpfs mount of its own with a byte and an inode cap where the server may
/// mount (root), else a plain folder.
/// </summary>
/// <remarks>
/// Whatever the program leaves behind is hostile: symlinks to host files, FIFOs, sockets, unreadable
/// folders, names that are not UTF-8, chains deeper than PATH_MAX. The host only ever writes new files
/// before the first sandboxed step (O_CREAT|O_EXCL, so a planted link is never followed); removal is an
/// unmount, or for a plain folder a walk by descriptor that never follows a link or opens a special file
/// (<see cref="WorkspaceTree"/>). Removal runs after the sandbox has killed the whole process tree, so
/// nothing can swap entries while we walk.
/// </remarks>
public sealed class Workspace : IAsyncDisposable
{
    private static readonly System.Text.UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly WorkspaceArea _area;
    private int _removed;

    internal Workspace(string path, bool isMount, WorkspaceArea area)
    {
        Path = path;
        IsMount = isMount;
        _area = area;
    }

    /// <summary>The host path of the folder.</summary>
    public string Path { get; }

    /// <summary>True when the workspace is a tmpfs mount of its own (with the area's caps).</summary>
    public bool IsMount { get; }

    /// <summary>
    /// Writes a new file; <paramref name="name"/> must already be validated by <see cref="SourceFileName"/>.
    /// Synchronously: a source file is at most a few hundred KiB into tmpfs, which never blocks, and one
    /// write call costs less than an async stream's hops through the thread pool.
    /// </summary>
    public Task WriteFileAsync(string name, string content, CancellationToken cancellationToken)
    {
        if (SourceFileName.Validate(name) is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }

        cancellationToken.ThrowIfCancellationRequested();
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = 0,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        using var stream = new FileStream(System.IO.Path.Combine(Path, name), options);
        stream.Write(Utf8.GetBytes(content));
        return Task.CompletedTask;
    }

    /// <summary>
    /// Unmounts and removes the workspace. Throws <see cref="IOException"/> when it could not be removed;
    /// the area's next sweep then tries again.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _removed, 1) == 0)
        {
            _area.Remove(Path, IsMount);
        }

        return ValueTask.CompletedTask;
    }
}
