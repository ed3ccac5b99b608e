using System.Security.Cryptography;

namespace IrisIde.Execution.Workspaces;

/// <summary>
/// A fresh folder for one run: the sources go in, the sandbox works in it, and it is deleted afterwards.
/// </summary>
/// <remarks>
/// Whatever the program leaves behind is hostile: symlinks to host files, FIFOs, sockets, unreadable
/// folders. The host only ever writes new files before the first sandboxed step (O_CREAT|O_EXCL, so a
/// planted link is never followed) and deletes with lstat semantics: links and special files are
/// unlinked, never opened; only real folders are descended into. Deletion runs after the sandbox has
/// killed the whole process tree, so nothing can swap entries while we walk.
/// </remarks>
public sealed class Workspace : IAsyncDisposable
{
    private Workspace(string path) => Path = path;

    /// <summary>The host path of the folder.</summary>
    public string Path { get; }

    public static Workspace Create(string root)
    {
        Directory.CreateDirectory(root);
        var name = "run-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        var path = System.IO.Path.Combine(root, name);
        var info = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            info.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        return new Workspace(path);
    }

    /// <summary>
    /// A fresh folder holding a copy of <paramref name="source"/>, a folder a sandboxed step left behind
    /// (a compiled program). Nothing runs in <paramref name="source"/> any more, so its entries cannot
    /// change while we walk; still, it is treated as hostile: links are recreated as links (never
    /// followed), only real folders are descended into, and a file is opened only when it is a regular
    /// file with content (an empty entry may be a FIFO, whose open would block: it becomes an empty
    /// file). Only permission bits are copied (no set-id bits); owners are the host's until the sandbox
    /// takes the folder over.
    /// </summary>
    public static Workspace CreateCopyOf(string source, string root)
    {
        var copy = Create(root);
        try
        {
            CopyChildren(new DirectoryInfo(source), copy.Path);
        }
        catch
        {
            DeleteNoFollow(copy.Path);
            throw;
        }

        return copy;
    }

    /// <summary>Writes a new file; <paramref name="name"/> must already be validated by <see cref="SourceFileName"/>.</summary>
    public async Task WriteFileAsync(string name, string content, CancellationToken cancellationToken)
    {
        if (SourceFileName.Validate(name) is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }

        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
        };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        await using var stream = new FileStream(System.IO.Path.Combine(Path, name), options);
        await using var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false));
        await writer.WriteAsync(content.AsMemory(), cancellationToken);
    }

    public ValueTask DisposeAsync()
    {
        DeleteNoFollow(Path);
        return ValueTask.CompletedTask;
    }

    /// <summary>Deletes a folder tree without following any link inside it.</summary>
    public static void DeleteNoFollow(string path)
    {
        var root = new DirectoryInfo(path);
        if (!root.Exists || root.LinkTarget is not null)
        {
            if (root.LinkTarget is not null)
            {
                File.Delete(path);
            }

            return;
        }

        DeleteChildren(root);
        root.Delete(recursive: false);
    }

    private static void DeleteChildren(DirectoryInfo directory)
    {
        MakeTraversable(directory);
        foreach (var entry in directory.EnumerateFileSystemInfos("*", new EnumerationOptions
        {
            AttributesToSkip = 0,
            IgnoreInaccessible = false,
            RecurseSubdirectories = false,
            ReturnSpecialDirectories = false,
        }))
        {
            if (entry is DirectoryInfo child && entry.LinkTarget is null && !entry.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                DeleteChildren(child);
                child.Delete(recursive: false);
            }
            else
            {
                // unlink(2): removes symlinks, FIFOs, sockets and files alike without opening them.
                File.Delete(entry.FullName);
            }
        }
    }

    private const UnixFileMode PermissionBits =
        UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private static void CopyChildren(DirectoryInfo source, string destination)
    {
        MakeTraversable(source);
        foreach (var entry in source.EnumerateFileSystemInfos("*", new EnumerationOptions
        {
            AttributesToSkip = 0,
            IgnoreInaccessible = false,
            RecurseSubdirectories = false,
            ReturnSpecialDirectories = false,
        }))
        {
            var target = System.IO.Path.Combine(destination, entry.Name);
            if (entry.LinkTarget is { } linkTarget)
            {
                // Resolved inside the next sandbox, never by us.
                File.CreateSymbolicLink(target, linkTarget);
            }
            else if (entry is DirectoryInfo child && !entry.Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                var mode = PermissionsOf(child); // before CopyChildren makes the source traversable
                var created = Directory.CreateDirectory(target);
                CopyChildren(child, target);
                SetPermissions(created, mode);
            }
            else if (entry is FileInfo { Length: > 0 } file)
            {
                // Length > 0 after lstat: a regular file (FIFOs and sockets report 0), safe to open.
                file.CopyTo(target);
                SetPermissions(new FileInfo(target), PermissionsOf(file));
            }
            else
            {
                using (File.Create(target))
                {
                }

                SetPermissions(new FileInfo(target), PermissionsOf(entry));
            }
        }
    }

    private static UnixFileMode PermissionsOf(FileSystemInfo entry) =>
        OperatingSystem.IsWindows() ? UnixFileMode.None : entry.UnixFileMode & PermissionBits;

    private static void SetPermissions(FileSystemInfo target, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            target.UnixFileMode = mode;
        }
    }

    private static void MakeTraversable(DirectoryInfo directory)
    {
        // A program may leave a folder it made unreadable. Only real folders reach here (never a
        // link), so this chmod cannot be redirected to a host file.
        if (!OperatingSystem.IsWindows())
        {
            directory.UnixFileMode |= UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }
    }
}
