using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>fchmod(2) on an open descriptor: cannot be redirected by a link.</summary>
    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int FChmod(int fd, uint mode);

    /// <summary>fchmodat(2) with flags 0, which follows a link: call it only on a name known to be a folder.</summary>
    [LibraryImport("libc", EntryPoint = "fchmodat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int FChmodAt(int directory, ReadOnlySpan<byte> name, uint mode, int flags);
}
