namespace IrisIde.Web.Batch;

/// <summary>
/// Wakes <c>GET /api/v1/runs/{id}?wait=true</c> when this process stores the run's end, so a waiting request
/// reads the row once more instead of every 100 ms. A result stored by another process (a second web
/// replica consuming completions from the same queue) signals nothing here: waiters still look at the row
/// every <see cref="FallbackPollInterval"/>, which bounds how late they can see it.
/// </summary>
public sealed class RunEndWaiters
{
    /// <summary>How often a waiter reads the row when no signal comes.</summary>
    public static readonly TimeSpan FallbackPollInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<Guid, Entry> _entries = [];
    private readonly Lock _gate = new();

    /// <summary>Runs someone watches now (for tests: nothing may stay behind).</summary>
    internal int WatchedRuns
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>
    /// Starts watching <paramref name="runId"/>. Watch before reading the row, so an end stored between the
    /// read and the wait is not missed; dispose to stop.
    /// </summary>
    public Watch Start(Guid runId)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(runId, out var entry))
            {
                entry = new Entry();
                _entries.Add(runId, entry);
            }

            entry.Watchers++;
            return new Watch(this, runId, entry.Ended.Task);
        }
    }

    /// <summary>The run's end is stored: every watch of it wakes. Costs a dictionary lookup when nobody waits.</summary>
    public void Notify(Guid runId)
    {
        Entry? entry;
        lock (_gate)
        {
            if (!_entries.Remove(runId, out entry))
            {
                return;
            }
        }

        entry.Ended.TrySetResult();
    }

    private void Stop(Guid runId, Task ended)
    {
        lock (_gate)
        {
            // A notified entry was removed already, and a later watch of the same run has an entry of its own.
            if (_entries.TryGetValue(runId, out var entry) && entry.Ended.Task == ended && --entry.Watchers == 0)
            {
                _entries.Remove(runId);
            }
        }
    }

    private sealed class Entry
    {
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Watchers { get; set; }
    }

    /// <summary>One waiter's view of a run's end.</summary>
    public sealed class Watch(RunEndWaiters owner, Guid runId, Task ended) : IDisposable
    {
        private bool _disposed;
        private bool _signalSeen;

        /// <summary>Returns when the end is stored here or after <paramref name="timeout"/>, whichever is first.</summary>
        public async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
        {
            if (timeout <= TimeSpan.Zero)
            {
                return;
            }

            if (ended.IsCompleted)
            {
                // The end was signalled once already: the row must have been read since, so only wait.
                if (_signalSeen)
                {
                    await Task.Delay(timeout, timeProvider, cancellationToken);
                }

                _signalSeen = true;
                return;
            }

            try
            {
                await ended.WaitAsync(timeout, timeProvider, cancellationToken);
            }
            catch (TimeoutException)
            {
                // Time to look at the row: another process may have stored the end.
                return;
            }

            _signalSeen = true;
        }

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                owner.Stop(runId, ended);
            }
        }
    }
}
