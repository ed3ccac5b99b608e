using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    internal const ulong MS_RDONLY = 0x1;
    internal const ulong MS_NOSUID = 0x2;
    internal const ulong MS_NODEV = 0x4;
    internal const ulong MS_NOEXEC = 0x8;
    internal const ulong MS_REMOUNT = 0x20;
    internal const ulong MS_BIND = 0x1000;
    internal const ulong MS_PRIVATE = 1 << 18;
    internal const ulong MS_SHARED = 1 << 20;
    internal const int MNT_DETACH = 0x2;

    /// <summary>mount(2). Needs CAP_SYS_ADMIN (the server runs as root); EPERM otherwise.</summary>
    [LibraryImport("libc", EntryPoint = "mount", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Mount(string source, string target, string fileSystemType, ulong flags, string data);

    /// <summary>Throws <see cref="Error"/> with the call's errno when a mount call (<paramref name="result"/>) failed.</summary>
    internal static void ThrowIfFailed(int result, string what)
    {
        if (result != 0)
        {
            throw Error(what, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>umount2(2). With <see cref="MNT_DETACH"/> the mount leaves the tree at once, busy or not.</summary>
    [LibraryImport("libc", EntryPoint = "umount2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Umount2(string target, int flags);

    /// <summary>S_IFCHR: the file type of a character device, for <see cref="MkNod"/>.</summary>
    internal const uint CharacterDevice = 0x2000;

    /// <summary>crw-rw-rw-: what /dev/null and its kind are on every Linux host.</summary>
    internal const uint EveryoneReadWrite = 0x1B6;

    /// <summary>mknod(2). A character device needs CAP_MKNOD (root); <paramref name="device"/> is makedev(major, minor).</summary>
    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int MkNod(string path, uint mode, ulong device);

    /// <summary>glibc's makedev for any major and minor.</summary>
    internal static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xfff) << 8) | ((ulong)(major & ~0xfffu) << 32) | (minor & 0xffu) | ((ulong)(minor & ~0xffu) << 12);
}
