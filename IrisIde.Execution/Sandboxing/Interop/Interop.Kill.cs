using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    /// <summary>kill(2). Returns 0 or -1; read the errno with <see cref="Marshal.GetLastPInvokeError"/>.</summary>
    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Kill(int pid, int signal);
}
