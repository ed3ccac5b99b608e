using System.Runtime.InteropServices;

namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    internal const uint STATX_TYPE = 0x1;
    internal const uint STATX_MODE = 0x2;
    internal const uint STATX_MTIME = 0x40;
    internal const uint STATX_INO = 0x100;
    internal const uint STATX_SIZE = 0x200;

    /// <summary>The fields of <c>struct statx</c> we read; its layout is the same on every architecture (unlike <c>struct stat</c>).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    internal struct StatX
    {
        [FieldOffset(28)] public ushort Mode;
        [FieldOffset(32)] public ulong Inode;
        [FieldOffset(40)] public ulong Size;
        [FieldOffset(112)] public long ModifiedSeconds;
        [FieldOffset(136)] public uint DeviceMajor;
        [FieldOffset(140)] public uint DeviceMinor;

        public readonly uint Type => Mode & FileTypeMask;

        public readonly uint Permissions => Mode & 0x1FFu; // rwx for user, group, other; never set-id or sticky

        public readonly (uint, uint, ulong) Identity => (DeviceMajor, DeviceMinor, Inode);
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int StatXAt(int directory, ReadOnlySpan<byte> name, int flags, uint mask, out StatX result);
}
