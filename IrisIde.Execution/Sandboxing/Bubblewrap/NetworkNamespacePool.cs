using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Empty network namespaces (only a loopback, up) made once and handed to one run at a time, so a sandbox joins one
/// instead of having bwrap make and the kernel tear down a network namespace per run — about a tenth of a sandboxed
/// run's machine CPU (docs/BENCHMARKS.md). Each is held by a descriptor of this process, so none outlives the server.
/// </summary>
/// <remarks>
/// A namespace is taken with a run's uid and given back with it, after every process of the run has ended: two runs
/// never share one (an abstract unix socket or the loopback would be a channel between them), and nothing a run could
/// leave in one outlives its processes — its sockets close with them, and the namespace belongs to the host's root,
/// so a program has no capability in it to change an interface, a route or a sysctl.
/// </remarks>
internal sealed class NetworkNamespacePool(ILogger logger) : IDisposable
{
    private readonly ConcurrentStack<SafeFileHandle> _free = new();
    private readonly ConcurrentBag<SafeFileHandle> _made = [];
    private volatile bool _unavailable;

    /// <summary>How many namespaces exist: the most runs this process has had at once.</summary>
    public int Count => _made.Count;

    /// <summary>
    /// A namespace no other run holds, made when none is free; null where none can be made (a container without
    /// CAP_NET_ADMIN cannot bring a loopback up): runs then get one of bwrap's own, as without the pool.
    /// </summary>
    public NetworkNamespaceLease? TryTake()
    {
        if (!_free.TryPop(out var handle))
        {
            if (_unavailable)
            {
                return null;
            }

            try
            {
                handle = Make();
            }
            catch (IOException exception)
            {
                _unavailable = true;
                BubblewrapSandboxLog.NetworkNamespacesUnavailable(logger, exception);
                return null;
            }

            _made.Add(handle);
        }

        return new NetworkNamespaceLease(this, handle);
    }

    internal void Return(SafeFileHandle handle) => _free.Push(handle);

    public void Dispose()
    {
        foreach (var handle in _made)
        {
            handle.Dispose();
        }
    }

    /// <summary>
    /// On a thread of its own, which moves into a new network namespace (only that thread does), brings its loopback up
    /// as bwrap would, opens the namespace and ends: the descriptor then holds the namespace.
    /// </summary>
    private static SafeFileHandle Make()
    {
        SafeFileHandle? handle = null;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (Interop.Unshare(Interop.CLONE_NEWNET) != 0)
                {
                    throw new IOException($"unshare(CLONE_NEWNET) failed: errno {Marshal.GetLastPInvokeError()}");
                }

                BringLoopbackUp();
                handle = File.OpenHandle("/proc/thread-self/ns/net", FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            }
            catch (Exception exception)
            {
                failure = exception;
            }
        })
        {
            IsBackground = true,
            Name = "Iris network namespace",
        };
        thread.Start();
        thread.Join();
        return handle ?? throw new IOException("A network namespace for a sandbox could not be made.", failure);
    }

    private static void BringLoopbackUp()
    {
        var socket = Interop.Socket(Interop.AF_INET, Interop.SOCK_DGRAM, 0);
        if (socket < 0)
        {
            throw new IOException($"socket failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            var request = new byte[40];
            "lo"u8.CopyTo(request);
            if (Interop.InterfaceControl(socket, Interop.SIOCGIFFLAGS, ref request[0]) != 0)
            {
                throw new IOException($"SIOCGIFFLAGS failed: errno {Marshal.GetLastPInvokeError()}");
            }

            var flags = (short)(BitConverter.ToInt16(request, 16) | Interop.IFF_UP);
            BitConverter.TryWriteBytes(request.AsSpan(16), flags);
            if (Interop.InterfaceControl(socket, Interop.SIOCSIFFLAGS, ref request[0]) != 0)
            {
                throw new IOException($"SIOCSIFFLAGS failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Interop.Close(socket);
        }
    }
}

/// <summary>One run's network namespace; disposing it gives it back for the next run.</summary>
internal sealed class NetworkNamespaceLease(NetworkNamespacePool pool, SafeFileHandle handle) : IDisposable
{
    private int _returned;

    /// <summary>Where the launcher (root, in this process's pid namespace) opens it: this process's descriptor in /proc.</summary>
    public string Path { get; } = string.Create(CultureInfo.InvariantCulture, $"/proc/{Environment.ProcessId}/fd/{handle.DangerousGetHandle()}");

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _returned, 1) == 0)
        {
            pool.Return(handle);
        }
    }
}
