using System.Runtime.InteropServices;
using System.Text;
using FileInterop = IrisIde.Execution.Workspaces.Interop;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>
/// The few file operations the cgroup code performs. The real cgroup filesystem and a fake root of
/// plain files (tests) both go through here; tests can also wrap it to inject kernel errors such as EBUSY.
/// </summary>
internal interface ICgroupFileSystem
{
    bool FileExists(string path);

    bool DirectoryExists(string path);

    string ReadAllText(string path);

    /// <summary>
    /// The file's text, or null when it does not exist (a controller or a run cgroup that is not there):
    /// one open instead of a look-up and then an open, as supervision reads these several times a run.
    /// </summary>
    string? TryReadAllText(string path);

    /// <summary>Writes <paramref name="value"/> in one write(2), to an existing control file.</summary>
    void Write(string path, string value);

    void CreateDirectory(string path);

    /// <summary>rmdir(2): a cgroup directory is removed without deleting its control files.</summary>
    void DeleteDirectory(string path);

    /// <summary>The child directories of <paramref name="path"/>; none when it does not exist.</summary>
    IEnumerable<string> EnumerateDirectories(string path);
}

internal sealed class CgroupFileSystem : ICgroupFileSystem
{
    private const int ReadChunkBytes = 512;
    private const int ENODEV = 19;

    public static CgroupFileSystem Instance { get; } = new();

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public string ReadAllText(string path) => File.ReadAllText(path);

    public string? TryReadAllText(string path)
    {
        var name = Encoding.UTF8.GetBytes(path + "\0");
        var fd = FileInterop.OpenAt(FileInterop.AT_FDCWD, name, FileInterop.O_RDONLY | FileInterop.O_CLOEXEC, 0);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is FileInterop.ENOENT or FileInterop.ENOTDIR
                ? null
                : throw new IOException($"Could not open {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
        }

        try
        {
            // Control files are small; cgroup.procs of a busy run is the largest, a few KiB.
            var buffer = new byte[ReadChunkBytes];
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                var read = FileInterop.Read(fd, buffer.AsSpan(length), (nuint)(buffer.Length - length));
                if (read < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == FileInterop.EINTR)
                    {
                        continue;
                    }

                    // A run cgroup removed while it is read answers ENODEV: as good as gone.
                    return errno == ENODEV ? null : throw new IOException($"Could not read {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);
                }

                if (read == 0)
                {
                    return Encoding.UTF8.GetString(buffer, 0, length);
                }

                length += (int)read;
            }
        }
        finally
        {
            _ = FileInterop.Close(fd);
        }
    }

    public void Write(string path, string value)
    {
        // Truncate, not Create: a control file that does not exist means a missing controller, and
        // creating a plain file in its place would hide that. One write call, because the kernel
        // parses each write(2) on a control file separately.
        using var stream = new FileStream(path, FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        stream.Write(System.Text.Encoding.ASCII.GetBytes(value));
    }

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public void DeleteDirectory(string path) => Directory.Delete(path, recursive: false);

    public IEnumerable<string> EnumerateDirectories(string path) => Directory.Exists(path) ? Directory.EnumerateDirectories(path) : [];
}
