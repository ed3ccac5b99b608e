using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using MountInterop = IrisIde.Execution.Workspaces.Interop;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// A sandbox's read-only root, made once for a kind of run and bound whole by every run of that kind
/// (<c>--dev-bind root /</c>) instead of bwrap building it bind by bind: a small tmpfs of its own holding
/// the view's host files as copies and its host folders as read-only, nosuid, nodev binds, its symlinks, the
/// synthetic /etc files, the init, a read-only /dev (the device nodes bwrap's <c>--dev</c> gives, its links, no
/// pseudo-terminals) and the empty folders the run's own mounts go on. bubblewrap re-reads the whole mount table
/// after every mount it makes, and every mount of the table is read each time: one bind of a root of a few mounts
/// in place of a view's twenty to sixty binds saves most of its set-up; what is bound here already carries bwrap's
/// flags, so it remounts nothing. Made by the server as root (it needs mount privilege in the host's namespace);
/// the tmpfs is private, so nothing mounted in it reaches other namespaces.
/// </summary>
/// <remarks>
/// Host paths are shown as they were when the root was made: a toolchain upgraded while the server runs keeps its
/// old single files here (copies; its folders are the host's, live) until the server restarts, as a toolchain
/// installed later is seen only after a restart. A source missing when the root is made is left out (bwrap's
/// <c>--ro-bind-try</c>). Binds are not recursive: a mount under a bound host folder is not shown. The copies live in
/// the server's memory (tmpfs), a few MiB a root; a file over <see cref="CopyLimitBytes"/> is bound instead.
/// The root's own tmpfs allows devices (its device nodes are made there); nothing but them is a device in it, and
/// it is read-only before any run sees it.
/// </remarks>
internal sealed class PreparedRoot : IDisposable
{
    private const ulong ReadOnlyFlags = MountInterop.MS_RDONLY | MountInterop.MS_NOSUID | MountInterop.MS_NODEV;

    /// <summary>A host file up to this size is copied into the root; a larger one is bound.</summary>
    internal const long CopyLimitBytes = 1L << 20;

    /// <summary>The device nodes a run gets in /dev (major, minor), as bwrap's <c>--dev</c> gives them.</summary>
    internal static readonly (string Name, uint Major, uint Minor)[] DeviceNodes =
        [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];

    /// <summary>/dev's links, as bwrap's <c>--dev</c> makes them (its <c>core</c> names the masked kcore and is left out).</summary>
    private static readonly KeyValuePair<string, string>[] DeviceLinks =
    [
        new("/dev/fd", "/proc/self/fd"), new("/dev/stdin", "/proc/self/fd/0"), new("/dev/stdout", "/proc/self/fd/1"), new("/dev/stderr", "/proc/self/fd/2"),
    ];

    private const UnixFileMode FolderMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    private int _disposed;

    private PreparedRoot(string path) => Path = path;

    /// <summary>The root's mount point on the host.</summary>
    public string Path { get; }

    /// <summary>Makes the root at <paramref name="path"/> (created; its parent must exist).</summary>
    /// <param name="view">The host paths to show, at the same places.</param>
    /// <param name="files">Files copied in, by path inside the sandbox: their host source and mode.</param>
    /// <param name="extraBinds">An operator's extra read-only binds.</param>
    /// <param name="mountPoints">Empty folders for what each run mounts itself (/proc, /dev, /tmp, the workspace).</param>
    public static PreparedRoot Create(
        string path,
        HostPathView view,
        IReadOnlyList<(string Target, string Source, UnixFileMode Mode)> files,
        IEnumerable<ReadOnlyBind> extraBinds,
        IEnumerable<string> mountPoints)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Sandbox roots are Linux mounts.");
        }

        Directory.CreateDirectory(path);
        var root = new PreparedRoot(path);
        try
        {
            var size = files.Sum(file => new FileInfo(file.Source).Length)
                + view.Binds.Select(bind => new FileInfo(bind)).Where(file => file is { Exists: true, Length: <= CopyLimitBytes }).Sum(file => file.Length)
                + (1L << 20);
            MountInterop.ThrowIfFailed(MountInterop.Mount("tmpfs", path, "tmpfs", MountInterop.MS_NOSUID,
                $"size={size},nr_inodes=4096,mode=0755"), "mount a sandbox root at " + path);
            MountInterop.ThrowIfFailed(MountInterop.Mount("none", path, "", MountInterop.MS_PRIVATE, ""), "make the sandbox root private");

            // Folders, files and binds first, symlinks last: nothing made here may follow a link this root holds
            // (an absolute one names a host path from out here).
            foreach (var point in mountPoints)
            {
                Directory.CreateDirectory(root.Inside(point), FolderMode);
            }

            foreach (var bind in view.Binds)
            {
                root.Bind(bind, bind, optional: true);
            }

            Directory.CreateDirectory(root.Inside("/dev"), FolderMode);
            foreach (var (name, major, minor) in DeviceNodes)
            {
                var node = root.Inside("/dev/" + name);
                MountInterop.ThrowIfFailed(
                    MountInterop.MkNod(node, MountInterop.CharacterDevice | MountInterop.EveryoneReadWrite, MountInterop.MakeDevice(major, minor)),
                    "make /dev/" + name + " in the sandbox root");
                // mknod applied the server's umask; the device is crw-rw-rw- as on the host.
                File.SetUnixFileMode(node, (UnixFileMode)MountInterop.EveryoneReadWrite);
            }

            foreach (var bind in extraBinds)
            {
                root.Bind(bind.Source, string.IsNullOrEmpty(bind.Target) ? bind.Source : bind.Target, bind.Optional);
            }

            foreach (var (target, source, mode) in files)
            {
                var copy = root.Inside(target);
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(copy)!, FolderMode);
                File.Copy(source, copy);
                File.SetUnixFileMode(copy, mode);
            }

            foreach (var (location, target) in view.Symlinks.Concat(DeviceLinks))
            {
                var link = root.Inside(location);
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(link)!, FolderMode);
                File.CreateSymbolicLink(link, target);
            }

            MountInterop.ThrowIfFailed(MountInterop.Mount("none", path, "", MountInterop.MS_REMOUNT | MountInterop.MS_BIND | MountInterop.MS_RDONLY | MountInterop.MS_NOSUID, ""),
                "make the sandbox root read-only");
            return root;
        }
        catch
        {
            root.Dispose();
            throw;
        }
    }

    /// <summary>Detaches the root and everything bound in it (runs that hold it keep their copy), then removes the folder.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // MNT_DETACH takes the binds inside with the root. EINVAL: nothing mounted (a failed Create). Never a
        // recursive delete: with the root still mounted it would walk into the host's bound folders.
        if (MountInterop.Umount2(Path, MountInterop.MNT_DETACH) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != MountInterop.EINVAL)
        {
            throw MountInterop.Error("unmount the sandbox root " + Path, errno);
        }

        Directory.Delete(Path);
    }

    /// <summary>Where <paramref name="sandboxPath"/> is on the host; never outside the root.</summary>
    private string Inside(string sandboxPath) =>
        !sandboxPath.StartsWith('/') || sandboxPath.Split('/').Any(part => part is "." or "..")
            ? throw new IOException($"'{sandboxPath}' is not a plain absolute path inside the sandbox.")
            : Path + "/" + sandboxPath.TrimStart('/');

    /// <summary>
    /// Shows <paramref name="source"/> at <paramref name="target"/> inside: a file up to <see cref="CopyLimitBytes"/> as a
    /// copy (its permission bits, no setuid), anything else as a read-only bind. A missing optional source is left out.
    /// </summary>
    [SupportedOSPlatform("linux")]
    private void Bind(string source, string target, bool optional)
    {
        var isFolder = Directory.Exists(source);
        if (!isFolder && !File.Exists(source))
        {
            if (optional)
            {
                return;
            }

            throw new IOException($"The read-only bind's source '{source}' does not exist.");
        }

        var point = Inside(target);
        if (isFolder)
        {
            Directory.CreateDirectory(point, FolderMode);
        }
        else
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(point)!, FolderMode);
            if (new FileInfo(source).Length <= CopyLimitBytes)
            {
                File.Copy(source, point);
                File.SetUnixFileMode(point, File.GetUnixFileMode(source) & ~(UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit));
                return;
            }

            File.WriteAllBytes(point, []);
        }

        MountInterop.ThrowIfFailed(MountInterop.Mount(source, point, "", MountInterop.MS_BIND, ""), $"bind {source} into the sandbox root");
        MountInterop.ThrowIfFailed(MountInterop.Mount("none", point, "", MountInterop.MS_REMOUNT | MountInterop.MS_BIND | ReadOnlyFlags, ""),
            $"make {target} read-only in the sandbox root");
    }
}
