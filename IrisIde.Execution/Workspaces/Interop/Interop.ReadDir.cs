using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>fdopendir(3): the stream owns <paramref name="fd"/> from now on (closedir closes it).</summary>
    [LibraryImport("libc", EntryPoint = "fdopendir", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial nint FdOpenDir(int fd);

    /// <summary>
    /// readdir64(3): a pointer to a <c>struct dirent64</c> (d_ino u64, d_off s64, d_reclen u16, d_type u8,
    /// then the NUL-terminated name at offset 19 on every 64-bit Linux), or 0 at the end (errno 0) or on
    /// error (errno set).
    /// </summary>
    [LibraryImport("libc", EntryPoint = "readdir64", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial nint ReadDir(nint stream);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int CloseDir(nint stream);

    internal const int DirentTypeOffset = 18;
    internal const int DirentNameOffset = 19;
}
