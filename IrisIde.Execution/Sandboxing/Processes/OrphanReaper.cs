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

    /// <summary>
    /// Reaps every zombie child of this process that ran as <paramref name="uid"/>: what a sandbox whose
    /// launcher died first handed to us (the subreaper) and nobody else waits for. The launcher itself,
    /// which runs as that uid too, must already be reaped (by <see cref="System.Diagnostics.Process"/>).
    /// </summary>
    public static int ReapZombieChildrenOf(int uid)
    {
        var reaped = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            string children;
            try
            {
                children = File.ReadAllText(Path.Combine(task, "children"));
            }
            catch (IOException)
            {
                continue; // the thread ended
            }

            foreach (var text in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)
                    && IsZombieOf(pid, uid) && Interop.WaitPid(pid, out _, Interop.WNOHANG) == pid)
                {
                    reaped++;
                }
            }
        }

        return reaped;
    }

    private static bool IsZombieOf(int pid, int uid)
    {
        try
        {
            var status = File.ReadAllLines($"/proc/{pid}/status");
            var state = status.FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal)) ?? "";
            var uids = status.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries);
            return state.Contains('Z', StringComparison.Ordinal) && uids is { Length: > 1 } && uids[1] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return false;
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
