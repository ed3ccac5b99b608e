using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    internal const int PR_SET_CHILD_SUBREAPER = 36;

    /// <summary>prctl(2) with one integer argument.</summary>
    [LibraryImport("libc", EntryPoint = "prctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int PrCtl(int option, nint argument2, nint argument3, nint argument4, nint argument5);
}
