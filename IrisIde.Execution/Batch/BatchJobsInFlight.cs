namespace IrisIde.Execution.Batch;

/// <summary>
/// How many jobs this process's <see cref="RunRequestedConsumer"/> holds right now, for its heartbeat. A job
/// counts from the moment the consumer takes it (waiting for its memory grant included) until it returns.
/// </summary>
public sealed class BatchJobsInFlight
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>Counts one job until the returned scope is disposed.</summary>
    public Scope Enter()
    {
        Interlocked.Increment(ref _count);
        return new Scope(this);
    }

    public readonly struct Scope(BatchJobsInFlight owner) : IDisposable
    {
        public void Dispose() => Interlocked.Decrement(ref owner._count);
    }
}
