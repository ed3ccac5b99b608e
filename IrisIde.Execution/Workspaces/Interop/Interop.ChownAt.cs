using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>fchownat(2); with <see cref="AT_SYMLINK_NOFOLLOW"/> a link is re-owned itself, never its target.</summary>
    [LibraryImport("libc", EntryPoint = "fchownat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int FChownAt(int directory, ReadOnlySpan<byte> name, uint owner, uint group, int flags);
}
