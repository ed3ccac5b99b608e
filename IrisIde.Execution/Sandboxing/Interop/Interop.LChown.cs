using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    /// <summary>lchown(2): changes the owner of a link itself, never of what it points to.</summary>
    /// <param name="path">NUL-terminated UTF-8 path (see <see cref="ToNativePath"/>).</param>
    [DllImport("libc", EntryPoint = "lchown", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static extern int LChown(byte[] path, uint owner, uint group);

    internal static byte[] ToNativePath(string path)
    {
        var bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
        System.Text.Encoding.UTF8.GetBytes(path, bytes);
        return bytes;
    }
}
