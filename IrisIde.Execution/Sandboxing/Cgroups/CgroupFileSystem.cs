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
    public static CgroupFileSystem Instance { get; } = new();

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public string ReadAllText(string path) => File.ReadAllText(path);

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
