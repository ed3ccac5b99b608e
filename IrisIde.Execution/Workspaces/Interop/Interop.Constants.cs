using System.Runtime.InteropServices;

// The workspace layer's own Interop class (the sandbox layer has one in IrisIde.Execution.Sandboxing):
// the calls here work on raw byte names through directory descriptors. The cgroup code borrows open,
// read and close from it to read control files without a separate existence check.
namespace IrisIde.Execution.Workspaces;

internal static partial class Interop
{
    // errno values (Linux; x86-64 and arm64 agree on these).
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int EAGAIN = 11;
    internal const int EACCES = 13;
    internal const int EEXIST = 17;
    internal const int ENOTDIR = 20;
    internal const int EISDIR = 21;
    internal const int EINVAL = 22;
    internal const int ENOSPC = 28;
    internal const int ENOTEMPTY = 39;
    internal const int ELOOP = 40;

    internal const int O_RDONLY = 0;
    internal const int O_WRONLY = 1;
    internal const int O_RDWR = 2;
    internal const int O_CREAT = 0x40;
    internal const int O_EXCL = 0x80;
    internal const int O_NONBLOCK = 0x800;
    internal const int O_CLOEXEC = 0x80000;

    // These two differ between architectures: arm and arm64 use the values of the old m68k ABI.
    internal static readonly int O_DIRECTORY = IsArm ? 0x4000 : 0x10000;
    internal static readonly int O_NOFOLLOW = IsArm ? 0x8000 : 0x20000;

    internal const int AT_FDCWD = -100;
    internal const int AT_SYMLINK_NOFOLLOW = 0x100;
    internal const int AT_REMOVEDIR = 0x200;
    internal const int AT_EMPTY_PATH = 0x1000;

    // st_mode file types (S_IFMT, S_IFDIR, S_IFREG, S_IFLNK).
    internal const uint FileTypeMask = 0xF000;
    internal const uint FileTypeDirectory = 0x4000;
    internal const uint FileTypeRegular = 0x8000;
    internal const uint FileTypeLink = 0xA000;

    internal const byte DT_UNKNOWN = 0;
    internal const byte DT_DIR = 4;

    private static bool IsArm =>
        RuntimeInformation.ProcessArchitecture is Architecture.Arm or Architecture.Arm64;

    /// <summary>An <see cref="IOException"/> carrying the errno of the last call.</summary>
    internal static IOException Error(string what, int errno) =>
        new($"{what} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);
}
