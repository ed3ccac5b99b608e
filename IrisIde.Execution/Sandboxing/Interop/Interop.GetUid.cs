using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    /// <summary>getuid(2): the real uid, the one RLIMIT_NPROC counts tasks by.</summary>
    [LibraryImport("libc", EntryPoint = "getuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial uint GetRealUid();
}
