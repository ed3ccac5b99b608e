using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>openat(2); <paramref name="name"/> is a NUL-terminated byte name, never decoded.</summary>
    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int OpenAt(int directory, ReadOnlySpan<byte> name, int flags, uint mode);

    /// <summary>close(2).</summary>
    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Close(int fd);

    /// <summary>dup(2), with close-on-exec: fdopendir takes over the copy, so the original stays ours.</summary>
    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static partial int FcntlInt(int fd, int command, int argument);

    private const int F_DUPFD_CLOEXEC = 1030;

    internal static int DupCloseOnExec(int fd) => FcntlInt(fd, F_DUPFD_CLOEXEC, 0);
}
