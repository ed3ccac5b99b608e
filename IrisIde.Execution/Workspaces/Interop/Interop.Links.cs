using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    /// <summary>readlinkat(2): the target's raw bytes (not NUL-terminated); the count, or -1.</summary>
    [LibraryImport("libc", EntryPoint = "readlinkat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial nint ReadLinkAt(int directory, ReadOnlySpan<byte> name, Span<byte> buffer, nuint size);

    [LibraryImport("libc", EntryPoint = "symlinkat", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int SymlinkAt(ReadOnlySpan<byte> target, int directory, ReadOnlySpan<byte> name);
}
