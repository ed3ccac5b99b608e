using System.Threading.Channels;
using IrisIde.Web.Persistence;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

/// <summary>Something the history writer stores.</summary>
public abstract record HistoryWrite
{
    public abstract Guid RunId { get; }
}

/// <summary>A run began: its row, as it stands at the start.</summary>
public sealed record HistoryRunOpened(RunRecord Record) : HistoryWrite
{
    public override Guid RunId => Record.Id;
}

/// <summary>One transcript chunk.</summary>
public sealed record HistoryChunk(RunTranscriptChunk Chunk) : HistoryWrite
{
    public override Guid RunId => Chunk.RunId;
}

/// <summary>A run ended: its result, and what became of its transcript.</summary>
public sealed record HistoryRunClosed(
    Guid Id,
    RunRecordStatus Status,
    string Verdict,
    int? ExitCode,
    int? Signal,
    long WallMs,
    long CpuMs,
    long PeakMemoryBytes,
    DateTime FinishedAtUtc,
    string? FailureReason,
    bool Truncated,
    bool Incomplete) : HistoryWrite
{
    public override Guid RunId => Id;
}

/// <summary>Chunks of a run were given up after its end was stored: its transcript has gaps.</summary>
public sealed record HistoryRunIncomplete(Guid Id) : HistoryWrite
{
    public override Guid RunId => Id;
}

/// <summary>
/// The queue between the recording sessions and <see cref="RunHistoryWriter"/>. One channel, so a run's row,
/// its chunks and its end reach the writer in the order they happened. Only chunks count against
/// <see cref="HistoryOptions.QueueCapacity"/>: a full queue refuses a chunk at once (the caller marks its run
/// incomplete) instead of making the run wait; rows and ends are few (one pair per session, and admission caps
/// sessions), so they are always taken.
/// </summary>
public sealed class RunHistoryQueue(IOptions<HistoryOptions> options)
{
    // Not SingleReader: that channel cannot count, and the writer's shutdown drain reads the count.
    private readonly Channel<HistoryWrite> _channel = Channel.CreateUnbounded<HistoryWrite>();

    private readonly int _capacity = options.Value.QueueCapacity;

    private int _queuedChunks;

    private long _overflowed;

    public ChannelReader<HistoryWrite> Reader => _channel.Reader;

    /// <summary>Chunks refused because the queue was full, since start.</summary>
    public long Overflowed => Interlocked.Read(ref _overflowed);

    /// <summary>Queues a chunk; false when the queue is full (the chunk is not kept).</summary>
    public bool TryEnqueue(RunTranscriptChunk chunk)
    {
        if (Interlocked.Increment(ref _queuedChunks) > _capacity)
        {
            Interlocked.Decrement(ref _queuedChunks);
            Interlocked.Increment(ref _overflowed);
            return false;
        }

        if (_channel.Writer.TryWrite(new HistoryChunk(chunk)))
        {
            return true;
        }

        Interlocked.Decrement(ref _queuedChunks);
        return false;
    }

    /// <summary>Queues a run's row, end or gap mark; never refused while the app runs.</summary>
    public void Enqueue(HistoryWrite write)
    {
        ArgumentNullException.ThrowIfNull(write);
        if (write is HistoryChunk)
        {
            throw new ArgumentException("chunks go through TryEnqueue, which applies the capacity", nameof(write));
        }

        _channel.Writer.TryWrite(write);
    }

    /// <summary>Takes the next item off the queue (the writer's side).</summary>
    public bool TryDequeue(out HistoryWrite write)
    {
        if (!_channel.Reader.TryRead(out write!))
        {
            return false;
        }

        if (write is HistoryChunk)
        {
            Interlocked.Decrement(ref _queuedChunks);
        }

        return true;
    }
}
