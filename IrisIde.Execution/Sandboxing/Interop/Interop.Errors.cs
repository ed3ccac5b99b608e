// One Interop class for the whole sandbox layer (as dotnet/runtime does), in the parent namespace so
// that `Interop.Kill` does not collide with a namespace named Interop.
namespace IrisIde.Execution.Sandboxing;

internal static partial class Interop
{
    // Linux errno and signal numbers used by the sandbox code (x86-64 and arm64 agree on these).
    internal const int EPERM = 1;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const int EBUSY = 16;

    internal const int SIGINT = 2;
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;
    internal const int SIGXCPU = 24;
    internal const int SIGXFSZ = 25;
}
