using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    internal const int CLONE_NEWNET = 0x40000000;
    internal const int AF_INET = 2;
    internal const int SOCK_DGRAM = 2;
    internal const nuint SIOCGIFFLAGS = 0x8913;
    internal const nuint SIOCSIFFLAGS = 0x8914;
    internal const short IFF_UP = 0x1;

    /// <summary>unshare(2): for CLONE_NEWNET only the calling thread moves.</summary>
    [LibraryImport("libc", EntryPoint = "unshare", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Unshare(int flags);

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Socket(int domain, int type, int protocol);

    /// <summary>ioctl(2) with a struct ifreq (40 bytes: the interface name, then its flags as a short).</summary>
    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int InterfaceControl(int descriptor, nuint request, ref byte interfaceRequest);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    internal static partial int Close(int descriptor);
}
