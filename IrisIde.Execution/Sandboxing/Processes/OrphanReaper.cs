using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// bwrap's outer process exits as soon as its pid-namespace init has reported the program's exit
/// status, before that init has finished exiting. The init is then orphaned to the host's pid 1, and a
/// container's pid 1 often never reaps, leaving a zombie per run. The host process therefore becomes a
/// child subreaper (orphans of its descendants are re-parented to it) and each run reaps its own init
/// by pid. Reaping by pid, never waitpid(-1), leaves the statuses of Process children to the runtime.
/// </summary>
internal static class OrphanReaper
{
    private static int _subreaper;

    public static void EnsureSubreaper()
    {
        if (Interlocked.Exchange(ref _subreaper, 1) == 0)
        {
            _ = Interop.PrCtl(Interop.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        }
    }

    /// <summary>Reaps <paramref name="pid"/> now if it is a zombie child of ours; false when it is still running.</summary>
    public static bool TryReap(int pid)
    {
        var result = Interop.WaitPid(pid, out _, Interop.WNOHANG);
        return result == pid || result < 0;
    }

    /// <summary>Reaps <paramref name="pid"/> if it is (or becomes, within the timeout) a zombie child of ours.</summary>
    public static async Task ReapAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var result = Interop.WaitPid(pid, out _, Interop.WNOHANG);
            if (result == pid || (result < 0 && Marshal.GetLastPInvokeError() != Interop.EINTR))
            {
                // Reaped, or not our child (its parent reaped it, or it was never orphaned to us).
                return;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        }
    }
}
