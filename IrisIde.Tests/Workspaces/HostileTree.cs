using System.Runtime.InteropServices;
using System.Text;
using IrisIde.Execution.Workspaces;

namespace IrisIde.Tests.Workspaces;

/// <summary>
/// Builds what a hostile program leaves in its workspace, on raw byte names through descriptors (the
/// names and depths here cannot be reached through .NET paths), and looks at it afterwards the same way.
/// </summary>
internal static class HostileTree
{
    public const int ChainDepth = 3000; // 3000 × 11 bytes: far past PATH_MAX (4096)

    public static readonly byte[] InvalidUtf8 = [0xff, 0xfe];
    public static readonly byte[] Newline = "new\nline"u8.ToArray();
    public static readonly byte[] FolderWithBadName = [.. "dir"u8, 0xff, (byte)'\n'];
    public static readonly byte[] Chain = "aaaaaaaaaa"u8.ToArray();
    public static readonly byte[] ChainLeaf = [0xc3, 0x28, (byte)'\n'];

    public static byte[] Z(ReadOnlySpan<byte> name) => [.. name, 0];

    public static byte[] Z(string name) => Z(Encoding.UTF8.GetBytes(name));

    public static int OpenFolder(string path) => Check(Interop.OpenAt(Interop.AT_FDCWD, Z(path), Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_CLOEXEC, 0), path);

    public static int OpenFolder(int parent, byte[] name) =>
        Check(Interop.OpenAt(parent, Z(name), Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, 0), "openat");

    public static void Close(int fd) => Interop.Close(fd);

    public static void MakeFolder(int parent, byte[] name) => Check(Interop.MkDirAt(parent, Z(name), 0x1ED), "mkdirat");

    public static void WriteFile(int parent, byte[] name, ReadOnlySpan<byte> content)
    {
        var fd = Check(Interop.OpenAt(parent, Z(name), Interop.O_WRONLY | Interop.O_CREAT | Interop.O_EXCL | Interop.O_CLOEXEC, 0x1A4), "create");
        try
        {
            for (var written = 0; written < content.Length;)
            {
                written += (int)Interop.Write(fd, content[written..], (nuint)(content.Length - written));
            }
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    public static void MakeFifo(int parent, byte[] name) => Check(MkNodAt(parent, Z(name), 0x1000 | 0x1A4, 0), "mkfifo");

    public static void MakeSocket(int parent, byte[] name) => Check(MkNodAt(parent, Z(name), 0xC000 | 0x1A4, 0), "mknod socket");

    public static void MakeLink(int parent, byte[] name, string target) => Check(Interop.SymlinkAt(Z(target), parent, Z(name)), "symlinkat");

    public static void Chmod(int parent, byte[] name, uint mode) => Check(Interop.FChmodAt(parent, Z(name), mode, 0), "chmod");

    public static bool Exists(int parent, byte[] name) => Interop.StatXAt(parent, Z(name), Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE, out _) == 0;

    public static Interop.StatX Stat(int parent, byte[] name)
    {
        Check(Interop.StatXAt(parent, Z(name), Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE | Interop.STATX_MODE | Interop.STATX_SIZE, out var stat), "statx");
        return stat;
    }

    public static string ReadLink(int parent, byte[] name)
    {
        var buffer = new byte[4096];
        var length = Interop.ReadLinkAt(parent, Z(name), buffer, (nuint)buffer.Length);
        return Encoding.UTF8.GetString(buffer, 0, (int)length);
    }

    /// <summary>Makes <paramref name="depth"/> nested folders under <paramref name="parent"/>, a file at the bottom.</summary>
    public static void MakeChain(int parent, int depth)
    {
        var fd = Check(Interop.DupCloseOnExec(parent), "dup");
        try
        {
            for (var i = 0; i < depth; i++)
            {
                MakeFolder(fd, Chain);
                var child = OpenFolder(fd, Chain);
                Interop.Close(fd);
                fd = child;
            }

            WriteFile(fd, ChainLeaf, "bottom"u8);
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>How deep the chain under <paramref name="parent"/> goes, and whether its leaf file is there.</summary>
    public static (int Depth, bool Leaf) MeasureChain(int parent)
    {
        var fd = Check(Interop.DupCloseOnExec(parent), "dup");
        var depth = 0;
        try
        {
            while (Exists(fd, Chain))
            {
                var child = OpenFolder(fd, Chain);
                Interop.Close(fd);
                fd = child;
                depth++;
            }

            return (depth, Exists(fd, ChainLeaf));
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>
    /// Plants, in the folder at <paramref name="path"/>: names that are not UTF-8 or hold a newline, a chain
    /// deeper than PATH_MAX, a FIFO, a socket, links to host files and folders, a loop, folders with mode
    /// 000 and <paramref name="manyFiles"/> files.
    /// </summary>
    public static void Plant(string path, string outsideFile, string outsideFolder, int manyFiles = 1000)
    {
        var root = OpenFolder(path);
        try
        {
            WriteFile(root, InvalidUtf8, new byte[64 * 1024]);
            WriteFile(root, Newline, "x"u8);
            MakeFolder(root, FolderWithBadName);
            var bad = OpenFolder(root, FolderWithBadName);
            WriteFile(bad, [0xfe, (byte)'\n', 0x80], "inside"u8);
            Close(bad);
            MakeChain(root, ChainDepth);
            MakeFifo(root, "fifo"u8.ToArray());
            MakeSocket(root, "sock"u8.ToArray());
            MakeLink(root, "filelink"u8.ToArray(), outsideFile);
            MakeLink(root, "dirlink"u8.ToArray(), outsideFolder);
            MakeLink(root, "up"u8.ToArray(), "..");
            MakeLink(root, "loop"u8.ToArray(), "loop");
            MakeFolder(root, "locked"u8.ToArray());
            var locked = OpenFolder(root, "locked"u8.ToArray());
            WriteFile(locked, "secret"u8.ToArray(), "s"u8);
            MakeFolder(locked, "inner"u8.ToArray());
            Chmod(locked, "inner"u8.ToArray(), 0);
            Close(locked);
            Chmod(root, "locked"u8.ToArray(), 0);
            MakeFolder(root, "many"u8.ToArray());
            var many = OpenFolder(root, "many"u8.ToArray());
            for (var i = 0; i < manyFiles; i++)
            {
                WriteFile(many, Encoding.ASCII.GetBytes($"f{i}"), default);
            }

            Close(many);
        }
        finally
        {
            Close(root);
        }
    }

    /// <summary>Unmounts whatever a test left mounted under <paramref name="root"/> and deletes it.</summary>
    public static void CleanUp(string root)
    {
        foreach (var point in MountTable.MountPointsUnder(root))
        {
            Interop.Umount2(point, Interop.MNT_DETACH);
        }

        WorkspaceTree.Delete(root);
    }

    private static int Check(int result, string what)
    {
        if (result < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"{what} failed: errno {errno}");
        }

        return result;
    }

    [DllImport("libc", EntryPoint = "mknodat", SetLastError = true)]
    private static extern int MkNodAt(int directory, byte[] name, uint mode, ulong device);
}
