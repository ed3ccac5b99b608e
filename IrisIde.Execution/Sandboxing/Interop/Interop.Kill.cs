using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    // DllImport rather than LibraryImport: the generator needs <AllowUnsafeBlocks> in
    // IrisIde.Execution.csproj, which this folder does not own. The signature is blittable, so the
    // runtime marshals nothing and switching later is a one-word change.
    /// <summary>kill(2). Returns 0 or -1; read the errno with <see cref="Marshal.GetLastPInvokeError"/>.</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static extern int Kill(int pid, int signal);
}
