using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int MkDirAt(int directory, ReadOnlySpan<byte> name, uint mode);
}
