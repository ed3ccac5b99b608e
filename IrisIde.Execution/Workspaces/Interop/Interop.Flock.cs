using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    internal const int LOCK_EX = 2;
    internal const int LOCK_NB = 4;

    /// <summary>flock(2): the same lock a .NET FileStream opened with FileShare.None takes.</summary>
    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Flock(int fd, int operation);
}
