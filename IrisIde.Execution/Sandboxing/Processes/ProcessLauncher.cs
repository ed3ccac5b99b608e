using System.Collections.Concurrent;
using System.Diagnostics;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// Starts sandbox processes from one thread that lives as long as the host process.
/// Why: PR_SET_PDEATHSIG (bwrap --die-with-parent, setpriv --pdeathsig) fires when the *thread*
/// that forked the child exits, not the process. Process.Start forks on the calling thread, and
/// thread-pool threads retire when idle — a run started from one would be SIGKILLed at a random
/// moment. Forking from a thread that never exits ties the death signal to the host process.
/// </summary>
internal static class ProcessLauncher
{
    private static readonly BlockingCollection<(ProcessStartInfo StartInfo, TaskCompletionSource<Process> Started)> Queue = new();

    private static readonly Thread LauncherThread = StartThread();

    public static Task<Process> StartAsync(ProcessStartInfo startInfo, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _ = LauncherThread;
        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((startInfo, started), cancellationToken);
        // Not cancellable once queued: a process started after the caller gave up would have no owner.
        return started.Task;
    }

    private static Thread StartThread()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "Iris sandbox launcher" };
        thread.Start();
        return thread;
    }

    private static void Run()
    {
        foreach (var (startInfo, started) in Queue.GetConsumingEnumerable())
        {
            try
            {
                var process = new Process { StartInfo = startInfo };
                process.Start();
                started.TrySetResult(process);
            }
            catch (Exception exception)
            {
                started.TrySetException(exception);
            }
        }
    }
}
