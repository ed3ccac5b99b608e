using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    [LibraryImport("libc", EntryPoint = "read", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial nint Read(int fd, Span<byte> buffer, nuint count);

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial nint Write(int fd, ReadOnlySpan<byte> buffer, nuint count);
}
