using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    /// <summary>lchown(2): changes the owner of a link itself, never of what it points to.</summary>
    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int LChown(string path, uint owner, uint group);
}
