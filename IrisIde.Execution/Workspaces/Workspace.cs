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
