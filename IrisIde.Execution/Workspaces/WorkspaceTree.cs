using System.Buffers;
using System.Runtime.InteropServices;
using System.Text;

namespace IrisIde.Execution.Workspaces;

/// <summary>
/// Deletes and copies folder trees a sandboxed program left behind, by file descriptor on raw byte names.
/// </summary>
/// <remarks>
/// Whatever a program leaves is hostile: names that are not UTF-8 or hold newlines, chains of folders far
/// deeper than PATH_MAX, links to host files, FIFOs, sockets, folders with mode 000, hundreds of thousands
/// of files. So nothing here builds a path or decodes a name: each folder is opened with
/// <c>openat(parent, name, O_DIRECTORY|O_NOFOLLOW)</c> (a link is never followed), its entries are read
/// with readdir as bytes, non-folders are removed with <c>unlinkat</c> (never opened), and the walk goes
/// back up with <c>openat(fd, "..")</c>, checking that it arrives where it came from (device and inode).
/// It holds at most a few descriptors whatever the depth; memory grows with the number of folders (their
/// names wait on a stack), which the workspace's inode cap bounds. Callers run it only after the run's
/// processes are all gone, so nothing swaps entries while we walk.
/// </remarks>
internal static unsafe class WorkspaceTree
{
    private const uint OwnerAll = 0x1C0; // u+rwx
    private const int MaxRetries = 3;
    private const int LinkBufferSize = 4096;
    private const int CopyBufferSize = 64 * 1024;

    private static readonly byte[] Dot = "."u8.ToArray().Append((byte)0).ToArray();
    private static readonly byte[] DotDot = ".."u8.ToArray().Append((byte)0).ToArray();
    private static readonly byte[] Empty = [0];

    /// <summary>
    /// Removes <paramref name="path"/> and everything below it. A link or file at <paramref name="path"/> is
    /// unlinked, not followed; a missing path is not an error.
    /// </summary>
    public static void Delete(string path)
    {
        var name = PathBytes(path);
        for (var attempt = 0; ; attempt++)
        {
            var fd = OpenDirectory(Interop.AT_FDCWD, name, out var error);
            if (error == Interop.ENOENT)
            {
                return;
            }

            if (error is Interop.ENOTDIR or Interop.ELOOP)
            {
                Unlink(Interop.AT_FDCWD, name, 0, path);
                return;
            }

            if (fd < 0)
            {
                throw Interop.Error($"open {path}", error);
            }

            DeleteContents(fd);
            if (Interop.UnlinkAt(Interop.AT_FDCWD, name, Interop.AT_REMOVEDIR) == 0)
            {
                return;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == Interop.ENOENT)
            {
                return;
            }

            if (errno != Interop.ENOTEMPTY || attempt == MaxRetries)
            {
                throw Interop.Error($"rmdir {path}", errno);
            }
        }
    }

    /// <summary>
    /// Copies what is inside <paramref name="source"/> into the existing, empty folder <paramref name="destination"/>.
    /// Links are recreated with the same raw target (never followed), only real folders are descended into,
    /// only regular files are opened (a FIFO or socket becomes an empty file), and only permission bits are
    /// copied (no set-id bits). The source's folders are made traversable for the owner as we go.
    /// </summary>
    public static void Copy(string source, string destination)
    {
        var from = OpenDirectory(Interop.AT_FDCWD, PathBytes(source), out var error);
        if (from < 0)
        {
            throw Interop.Error($"open {source}", error);
        }

        var to = OpenDirectory(Interop.AT_FDCWD, PathBytes(destination), out error);
        if (to < 0)
        {
            Interop.Close(from);
            throw Interop.Error($"open {destination}", error);
        }

        CopyContents(from, to);
    }

    /// <summary>
    /// Gives <paramref name="path"/> and everything below it to <paramref name="uid"/>:<paramref name="gid"/>
    /// (what a sandbox does before a step runs as its own uid). Links are re-owned themselves, never
    /// followed; names and depth are no obstacle. <paramref name="path"/> must be a real folder.
    /// </summary>
    public static void ChangeOwner(string path, uint uid, uint gid)
    {
        var fd = OpenDirectory(Interop.AT_FDCWD, PathBytes(path), out var error);
        if (fd < 0)
        {
            throw error is Interop.ENOTDIR or Interop.ELOOP
                ? new ArgumentException($"The workspace {path} must be an existing folder, not a link.", nameof(path))
                : Interop.Error($"open {path}", error);
        }

        var above = new Stack<Level>();
        var level = new Level(null, IdentityOf(fd, "a folder"));
        try
        {
            Check(Interop.FChownAt(fd, Empty, uid, gid, Interop.AT_EMPTY_PATH), "chown of the workspace");
            foreach (var (name, type) in ReadEntries(fd))
            {
                ChownEntry(fd, name, type, uid, gid, level.Pending);
            }

            while (true)
            {
                if (level.Pending.TryPop(out var entry))
                {
                    var child = OpenDirectory(fd, entry.Name, out error);
                    if (child < 0)
                    {
                        throw Interop.Error("opening a folder", error);
                    }

                    above.Push(level);
                    Interop.Close(fd);
                    fd = child;
                    level = new Level(entry, IdentityOf(fd, "a folder"));
                    foreach (var (name, type) in ReadEntries(fd))
                    {
                        ChownEntry(fd, name, type, uid, gid, level.Pending);
                    }

                    continue;
                }

                if (!above.TryPop(out var parentLevel))
                {
                    return;
                }

                var parent = OpenParent(fd, parentLevel.Identity);
                Interop.Close(fd);
                fd = parent;
                level = parentLevel;
            }
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    private static void ChownEntry(int fd, byte[] name, byte type, uint uid, uint gid, Stack<Entry> folders)
    {
        Check(Interop.FChownAt(fd, name, uid, gid, Interop.AT_SYMLINK_NOFOLLOW), "chown of an entry");
        if (type == Interop.DT_DIR || (type == Interop.DT_UNKNOWN && TypeOf(fd, name) == Interop.FileTypeDirectory))
        {
            folders.Push(new Entry(name, 0));
        }
    }

    /// <summary>Empties the folder open as <paramref name="fd"/>, and closes it.</summary>
    private static void DeleteContents(int fd)
    {
        var above = new Stack<Level>();
        var level = new Level(null, IdentityOf(fd, "a folder"));
        try
        {
            Interop.FChmod(fd, OwnerAll); // may fail (not our file, non-root): the walk then reports what it cannot do
            ScanForDeletion(fd, level.Pending);
            while (true)
            {
                if (level.Pending.TryPop(out var entry))
                {
                    var child = OpenDirectory(fd, entry.Name, out var error);
                    if (error == Interop.ENOENT)
                    {
                        continue;
                    }

                    if (error is Interop.ENOTDIR or Interop.ELOOP)
                    {
                        Unlink(fd, entry.Name, 0, "an entry");
                        continue;
                    }

                    if (child < 0)
                    {
                        throw Interop.Error("opening a folder", error);
                    }

                    above.Push(level);
                    Interop.Close(fd);
                    fd = child;
                    level = new Level(entry, IdentityOf(fd, "a folder"));
                    Interop.FChmod(fd, OwnerAll);
                    ScanForDeletion(fd, level.Pending);
                    continue;
                }

                if (!above.TryPop(out var parentLevel))
                {
                    return;
                }

                var parent = OpenParent(fd, parentLevel.Identity);
                Interop.Close(fd);
                fd = parent;
                if (Interop.UnlinkAt(fd, level.Entry!.Name, Interop.AT_REMOVEDIR) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Interop.ENOTEMPTY && level.Entry.Retries < MaxRetries)
                    {
                        // An entry readdir did not show while we unlinked its neighbours: go in again.
                        parentLevel.Pending.Push(level.Entry with { Retries = level.Entry.Retries + 1 });
                    }
                    else if (errno != Interop.ENOENT)
                    {
                        throw Interop.Error("rmdir of a folder", errno);
                    }
                }

                level = parentLevel;
            }
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>Unlinks every entry of the folder that is not a folder; the folders go to <paramref name="folders"/>.</summary>
    private static void ScanForDeletion(int fd, Stack<Entry> folders)
    {
        foreach (var (name, type) in ReadEntries(fd))
        {
            var isFolder = type == Interop.DT_DIR || (type == Interop.DT_UNKNOWN && TypeOf(fd, name) == Interop.FileTypeDirectory);
            if (isFolder)
            {
                folders.Push(new Entry(name, 0));
                continue;
            }

            if (Interop.UnlinkAt(fd, name, 0) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Interop.EISDIR)
                {
                    folders.Push(new Entry(name, 0));
                }
                else if (errno != Interop.ENOENT)
                {
                    throw Interop.Error("unlink of an entry", errno);
                }
            }
        }
    }

    /// <summary>Copies the folder open as <paramref name="from"/> into the one open as <paramref name="to"/>; closes both.</summary>
    private static void CopyContents(int from, int to)
    {
        var above = new Stack<(Level From, Level To)>();
        (Level From, Level To) level = (new Level(null, IdentityOf(from, "the source")), new Level(null, IdentityOf(to, "the copy")));
        try
        {
            MakeTraversable(from);
            CopyEntries(from, to, level.From.Pending);
            while (true)
            {
                if (level.From.Pending.TryPop(out var entry))
                {
                    var childFrom = OpenDirectory(from, entry.Name, out var error);
                    if (childFrom < 0)
                    {
                        throw Interop.Error("opening a folder of the source", error);
                    }

                    var childTo = OpenDirectory(to, entry.Name, out error);
                    if (childTo < 0)
                    {
                        Interop.Close(childFrom);
                        throw Interop.Error("opening a folder of the copy", error);
                    }

                    above.Push(level);
                    Interop.Close(from);
                    Interop.Close(to);
                    from = childFrom;
                    to = childTo;
                    level = (new Level(entry, IdentityOf(from, "the source")), new Level(entry, IdentityOf(to, "the copy")));
                    MakeTraversable(from);
                    CopyEntries(from, to, level.From.Pending);
                    continue;
                }

                if (!above.TryPop(out var parentLevel))
                {
                    return;
                }

                var parentFrom = OpenParent(from, parentLevel.From.Identity);
                Interop.Close(from);
                from = parentFrom;
                var parentTo = OpenParent(to, parentLevel.To.Identity);

                // The folder's own mode last, once its children are in, and through its descriptor (a mode
                // without u+x set earlier would have stopped us going up through "..").
                var modeFailed = Interop.FChmod(to, level.From.Entry!.Permissions) != 0;
                var errno = Marshal.GetLastPInvokeError();
                Interop.Close(to);
                to = parentTo;
                if (modeFailed)
                {
                    throw Interop.Error("chmod of a copied folder", errno);
                }

                level = parentLevel;
            }
        }
        finally
        {
            Interop.Close(from);
            Interop.Close(to);
        }
    }

    private static void CopyEntries(int from, int to, Stack<Entry> folders)
    {
        foreach (var (name, _) in ReadEntries(from))
        {
            if (Interop.StatXAt(from, name, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE | Interop.STATX_MODE, out var stat) != 0)
            {
                throw Interop.Error("stat of an entry of the source", Marshal.GetLastPInvokeError());
            }

            switch (stat.Type)
            {
                case Interop.FileTypeDirectory:
                    Check(Interop.MkDirAt(to, name, OwnerAll), "mkdir in the copy");
                    folders.Push(new Entry(name, 0) { Permissions = stat.Permissions });
                    break;
                case Interop.FileTypeLink:
                    CopyLink(from, to, name);
                    break;
                case Interop.FileTypeRegular:
                    CopyFile(from, to, name, stat.Permissions);
                    break;
                default:
                    // FIFOs, sockets, devices: opening one could block or reach a device. An empty file keeps the name.
                    var created = Interop.OpenAt(to, name, Interop.O_WRONLY | Interop.O_CREAT | Interop.O_EXCL | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, stat.Permissions);
                    Check(created, "create in the copy");
                    Interop.Close(created);
                    break;
            }
        }
    }

    private static void CopyLink(int from, int to, byte[] name)
    {
        var target = new byte[LinkBufferSize + 1];
        var length = Interop.ReadLinkAt(from, name, target, LinkBufferSize);
        if (length < 0)
        {
            throw Interop.Error("readlink in the source", Marshal.GetLastPInvokeError());
        }

        target[length] = 0; // resolved inside the next sandbox, never by us
        Check(Interop.SymlinkAt(target, to, name), "symlink in the copy");
    }

    private static void CopyFile(int from, int to, byte[] name, uint permissions)
    {
        // O_NONBLOCK: should the entry have become a FIFO since the stat, opening it does not block.
        var input = Interop.OpenAt(from, name, Interop.O_RDONLY | Interop.O_NOFOLLOW | Interop.O_NONBLOCK | Interop.O_CLOEXEC, 0);
        Check(input, "open in the source");
        var output = -1;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        try
        {
            var isRegular = Interop.StatXAt(input, Empty, Interop.AT_EMPTY_PATH, Interop.STATX_TYPE, out var stat) == 0 && stat.Type == Interop.FileTypeRegular;
            output = Interop.OpenAt(to, name, Interop.O_WRONLY | Interop.O_CREAT | Interop.O_EXCL | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, 0x180);
            Check(output, "create in the copy");
            while (isRegular)
            {
                var read = Interop.Read(input, buffer, CopyBufferSize);
                if (read < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == Interop.EINTR)
                    {
                        continue;
                    }

                    throw Interop.Error("read in the source", errno);
                }

                if (read == 0)
                {
                    break;
                }

                for (nint written = 0; written < read;)
                {
                    var count = Interop.Write(output, buffer.AsSpan((int)written, (int)(read - written)), (nuint)(read - written));
                    if (count < 0)
                    {
                        var errno = Marshal.GetLastPInvokeError();
                        if (errno == Interop.EINTR)
                        {
                            continue;
                        }

                        throw Interop.Error("write in the copy", errno);
                    }

                    written += count;
                }
            }

            Check(Interop.FChmod(output, permissions), "chmod in the copy");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interop.Close(input);
            if (output >= 0)
            {
                Interop.Close(output);
            }
        }
    }

    /// <summary>
    /// The entries of the folder open as <paramref name="fd"/>, without "." and "..", as NUL-terminated
    /// byte names with their readdir type. Read through a descriptor of its own, so the caller's keeps its offset.
    /// </summary>
    private static List<(byte[] Name, byte Type)> ReadEntries(int fd)
    {
        var own = Interop.OpenAt(fd, Dot, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_CLOEXEC, 0);
        Check(own, "open of a folder for reading");
        var stream = Interop.FdOpenDir(own);
        if (stream == 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            Interop.Close(own);
            throw Interop.Error("fdopendir", errno);
        }

        var entries = new List<(byte[], byte)>();
        try
        {
            while (true)
            {
                var entry = Interop.ReadDir(stream);
                if (entry == 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno != 0)
                    {
                        throw Interop.Error("readdir", errno);
                    }

                    return entries;
                }

                var name = MemoryMarshal.CreateReadOnlySpanFromNullTerminated((byte*)entry + Interop.DirentNameOffset);
                if (name.SequenceEqual("."u8) || name.SequenceEqual(".."u8))
                {
                    continue;
                }

                var copy = new byte[name.Length + 1];
                name.CopyTo(copy);
                entries.Add((copy, *((byte*)entry + Interop.DirentTypeOffset)));
            }
        }
        finally
        {
            Interop.CloseDir(stream);
        }
    }

    /// <summary>
    /// Opens a real folder (never a link). Returns the descriptor, or -1 with the errno in
    /// <paramref name="error"/>: ENOTDIR or ELOOP mean the entry is not a folder.
    /// </summary>
    private static int OpenDirectory(int parent, byte[] name, out int error)
    {
        var flags = Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_NOFOLLOW | Interop.O_CLOEXEC;
        for (var attempt = 0; ; attempt++)
        {
            var fd = Interop.OpenAt(parent, name, flags, 0);
            if (fd >= 0)
            {
                error = 0;
                return fd;
            }

            error = Marshal.GetLastPInvokeError();
            if (error == Interop.EINTR)
            {
                continue;
            }

            // Mode 000 stops even the owner (root is not stopped). fchmodat follows links, so it is only
            // used once lstat semantics have shown a real folder.
            if (error == Interop.EACCES && attempt == 0 && TypeOf(parent, name) == Interop.FileTypeDirectory
                && Interop.FChmodAt(parent, name, OwnerAll, 0) == 0)
            {
                continue;
            }

            return -1;
        }
    }

    /// <summary>Opens the parent of <paramref name="fd"/>, which must be the folder we came down from.</summary>
    private static int OpenParent(int fd, (uint, uint, ulong) expected)
    {
        var parent = Interop.OpenAt(fd, DotDot, Interop.O_RDONLY | Interop.O_DIRECTORY | Interop.O_CLOEXEC, 0);
        Check(parent, "open of ..");
        if (IdentityOf(parent, "..") != expected)
        {
            Interop.Close(parent);
            throw new IOException("A folder moved while the workspace was walked; stopped.");
        }

        return parent;
    }

    private static uint TypeOf(int parent, byte[] name) =>
        Interop.StatXAt(parent, name, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_TYPE, out var stat) == 0 ? stat.Type : 0;

    private static (uint, uint, ulong) IdentityOf(int fd, string what)
    {
        if (Interop.StatXAt(fd, Empty, Interop.AT_EMPTY_PATH, Interop.STATX_INO, out var stat) != 0)
        {
            throw Interop.Error($"stat of {what}", Marshal.GetLastPInvokeError());
        }

        return stat.Identity;
    }

    private static void MakeTraversable(int fd)
    {
        // A program may leave a folder it made unreadable; fchmod on the descriptor cannot reach anything else.
        if (Interop.StatXAt(fd, Empty, Interop.AT_EMPTY_PATH, Interop.STATX_MODE, out var stat) == 0 && (stat.Mode & OwnerAll) != OwnerAll)
        {
            Interop.FChmod(fd, stat.Permissions | OwnerAll);
        }
    }

    private static void Unlink(int parent, byte[] name, int flags, string what)
    {
        if (Interop.UnlinkAt(parent, name, flags) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != Interop.ENOENT)
        {
            throw Interop.Error($"unlink of {what}", errno);
        }
    }

    private static void Check(int result, string what)
    {
        if (result < 0)
        {
            throw Interop.Error(what, Marshal.GetLastPInvokeError());
        }
    }

    private static byte[] PathBytes(string path) => Encoding.UTF8.GetBytes(path + "\0");

    /// <summary>A folder still to visit: its raw name in its parent and its permission bits (for a copy).</summary>
    private sealed record Entry(byte[] Name, int Retries)
    {
        public uint Permissions { get; init; }
    }

    /// <summary>A folder on the way down: how we reached it, who it is, and its sub-folders still to visit.</summary>
    private sealed class Level(Entry? entry, (uint, uint, ulong) identity)
    {
        public Entry? Entry { get; } = entry;

        public (uint, uint, ulong) Identity { get; } = identity;

        public Stack<Entry> Pending { get; } = new();
    }
}
