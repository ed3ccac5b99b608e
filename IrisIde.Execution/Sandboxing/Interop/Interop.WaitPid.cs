using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    internal const int WNOHANG = 1;

    /// <summary>waitpid(2). Only ever called with a specific pid, never -1, so the statuses of
    /// System.Diagnostics.Process children are left to the runtime.</summary>
    [LibraryImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int WaitPid(int pid, out int status, int options);
}
