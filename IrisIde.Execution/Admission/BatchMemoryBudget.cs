using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Admission;

/// <summary>
/// The memory the batch jobs of this process may hold at once, handed out by weight: a job waits until
/// the memory it was granted is free, so the jobs running together never hold more than the budget and
/// a graded job's verdict never depends on its neighbours. <see cref="BatchJobOptions.ConcurrentJobs"/>
/// stays an upper bound on how many run at once.
/// </summary>
/// <remarks>
/// Waiters are served strictly in arrival order: a large job at the head is not starved by a stream of
/// small ones slipping past it. A job's weight is the most any of its stages may use — the compile
/// stage's limit for compiled languages, else the run limit it was granted.
/// </remarks>
public sealed class BatchMemoryBudget
{
    private readonly LinkedList<Waiter> _waiters = new();
    private readonly Lock _gate = new();
    private readonly ExecutionOptions _limits;
    private readonly LanguageCatalog _catalog;
    private long _available;

    public BatchMemoryBudget(IOptions<BatchJobOptions> options, IOptions<ExecutionOptions> limits, HostResources host, LanguageCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(host);
        CapacityBytes = options.Value.ResolveMemoryBudgetBytes(host);
        _available = CapacityBytes;
        _limits = limits.Value;
        _catalog = catalog;
    }

    /// <summary>The whole budget.</summary>
    public long CapacityBytes { get; }

    /// <summary>What is not held by a running job right now.</summary>
    public long AvailableBytes
    {
        get
        {
            lock (_gate)
            {
                return _available;
            }
        }
    }

    /// <summary>The memory a job holds while it runs.</summary>
    public long WeightOf(RunRequested job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var run = job.Limits?.MemoryBytes ?? _limits.Batch.MemoryBytes;
        var compiles = _catalog.TryResolve(job.Language, out var language) && language.Compile is { Count: > 0 };
        return Math.Min(CapacityBytes, compiles ? Math.Max(run, _limits.Compile.MemoryBytes) : run);
    }

    /// <summary>Waits until <paramref name="bytes"/> are free and takes them; dispose the result to give them back.</summary>
    public async ValueTask<IDisposable> AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        bytes = Math.Clamp(bytes, 0, CapacityBytes);
        Waiter waiter;
        lock (_gate)
        {
            if (_waiters.Count == 0 && _available >= bytes)
            {
                _available -= bytes;
                return new Grant(this, bytes);
            }

            waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
        }

        await using (cancellationToken.Register(static state => ((Waiter)state!).Cancel(), waiter))
        {
            try
            {
                await waiter.Task.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    if (waiter.Node?.List is not null)
                    {
                        _waiters.Remove(waiter.Node);
                        ServeWaiters();
                        throw;
                    }
                }

                // Granted at the same moment as cancelled: the grant won, keep it.
            }
        }

        return new Grant(this, bytes);
    }

    private void Release(long bytes)
    {
        lock (_gate)
        {
            _available += bytes;
            ServeWaiters();
        }
    }

    /// <summary>Grants waiters from the head while the head fits; called under the lock.</summary>
    private void ServeWaiters()
    {
        while (_waiters.First is { } head && head.Value.Bytes <= _available)
        {
            _waiters.RemoveFirst();
            _available -= head.Value.Bytes;
            head.Value.Node = null;
            head.Value.Task.TrySetResult();
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Task { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }

        public void Cancel() => Task.TrySetCanceled();
    }

    private sealed class Grant(BatchMemoryBudget budget, long bytes) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                budget.Release(bytes);
            }
        }
    }
}
