using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>unlinkat(2): removes a name (a folder with <see cref="AT_REMOVEDIR"/>) without opening or following it.</summary>
    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int UnlinkAt(int directory, ReadOnlySpan<byte> name, int flags);
}
