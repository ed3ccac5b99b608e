using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

/// <summary>
/// Empties <see cref="RunHistoryQueue"/> into the database: up to <see cref="BatchSize"/> items per transaction,
/// the new rows and chunks in one <c>SaveChanges</c>, each run's end as one UPDATE. A batch the database refuses
/// is tried again, with a growing pause, as a whole (the transaction left nothing behind). After
/// <see cref="HistoryOptions.MaxWriteAttempts"/> failures its chunks are given up and their runs marked incomplete;
/// rows and ends stay and are tried until the database takes them, so a run's record survives an outage.
/// Nothing here ever waits on a run, nor a run on this.
/// </summary>
public sealed class RunHistoryWriter(
    RunHistoryQueue queue,
    IServiceScopeFactory scopes,
    IOptions<HistoryOptions> options,
    TimeProvider time,
    ILogger<RunHistoryWriter> logger) : BackgroundService
{
    public const int BatchSize = 500;

    private static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan LongestPause = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan ShutdownDrainLimit = TimeSpan.FromSeconds(5);

    // Only the writer's loop touches these.
    private readonly List<HistoryWrite> _pending = new(BatchSize);

    private int _attempts;

    private long _droppedChunks;

    private long _storedChunks;

    /// <summary>Chunks given up after failed attempts, since start.</summary>
    public long DroppedChunks => Interlocked.Read(ref _droppedChunks);

    /// <summary>Chunks stored, since start.</summary>
    public long StoredChunks => Interlocked.Read(ref _storedChunks);

    /// <summary>How long the writer waits, once something is queued, for more to write with it.</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(100);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (_pending.Count > 0 || await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // Let a moment's chunks gather: a terminal's keystroke or line is one write per moment, not per
                // chunk, so the database's work (and its CPU beside the session) does not follow every event.
                if (_pending.Count == 0 && queue.Reader.Count < BatchSize)
                {
                    await Task.Delay(Linger, time, stoppingToken);
                }

                if (!await WriteBatchAsync(stoppingToken))
                {
                    await Task.Delay(Pause(_attempts), time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is queued still goes in below, for a few seconds at most.
        }

        using var drain = new CancellationTokenSource(ShutdownDrainLimit);
        await DrainAsync(drain.Token);
    }

    /// <summary>Writes what is queued now, one attempt per batch.</summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        try
        {
            while ((_pending.Count > 0 || queue.Reader.Count > 0) && await WriteBatchAsync(cancellationToken))
            {
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        if (_pending.Count + queue.Reader.Count > 0)
        {
            HistoryLog.DrainCutShort(logger, _pending.Count + queue.Reader.Count);
        }
    }

    private static TimeSpan Pause(int attempts) =>
        TimeSpan.FromTicks(Math.Min(LongestPause.Ticks, FirstPause.Ticks << Math.Min(attempts, 10)));

    private async Task<bool> WriteBatchAsync(CancellationToken cancellationToken)
    {
        while (_pending.Count < BatchSize && queue.TryDequeue(out var write))
        {
            _pending.Add(write);
        }

        if (_pending.Count == 0)
        {
            return true;
        }

        try
        {
            await StoreAsync(_pending, cancellationToken);
            Interlocked.Add(ref _storedChunks, _pending.Count(w => w is HistoryChunk));
            _pending.Clear();
            _attempts = 0;
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _attempts++;
            HistoryLog.WriteFailed(logger, _pending.Count, _attempts, e);
            if (_attempts >= options.Value.MaxWriteAttempts && _pending.Any(w => w is HistoryChunk))
            {
                GiveUpChunks();
            }

            return false;
        }
    }

    /// <summary>Drops the batch's chunks; their runs' ends say incomplete (or a gap mark does, for ends already stored).</summary>
    private void GiveUpChunks()
    {
        var runs = _pending.OfType<HistoryChunk>().Select(c => c.RunId).ToHashSet();
        var dropped = _pending.RemoveAll(w => w is HistoryChunk);
        Interlocked.Add(ref _droppedChunks, dropped);
        HistoryLog.ChunksDropped(logger, dropped, _attempts);
        for (var i = 0; i < _pending.Count; i++)
        {
            if (_pending[i] is HistoryRunClosed closed && runs.Remove(closed.Id))
            {
                _pending[i] = closed with { Incomplete = true };
            }
        }

        // Their ends are still to come (the runs go on) or were stored already: a mark after them either way.
        foreach (var run in runs)
        {
            _pending.Add(new HistoryRunIncomplete(run));
        }

        _attempts = 0;
    }

    private async Task StoreAsync(List<HistoryWrite> batch, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        var opened = new Dictionary<Guid, RunRecord>();
        var updates = new List<HistoryWrite>();
        foreach (var write in batch)
        {
            switch (write)
            {
                case HistoryRunOpened open:
                    // A copy: a failed attempt must not leave the record tracked or changed for the next one.
                    var record = Copy(open.Record);
                    opened[record.Id] = record;
                    db.Runs.Add(record);
                    break;
                case HistoryChunk chunk:
                    db.TranscriptChunks.Add(new RunTranscriptChunk { RunId = chunk.Chunk.RunId, Sequence = chunk.Chunk.Sequence, TimeMs = chunk.Chunk.TimeMs, Stream = chunk.Chunk.Stream, Data = chunk.Chunk.Data });
                    break;
                case HistoryRunClosed closed when opened.TryGetValue(closed.Id, out var same):
                    Apply(same, closed);
                    break;
                case HistoryRunIncomplete gap when opened.TryGetValue(gap.Id, out var same):
                    same.TranscriptIncomplete = true;
                    break;
                default:
                    updates.Add(write);
                    break;
            }
        }

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.SaveChangesAsync(cancellationToken);
        foreach (var update in updates)
        {
            var run = db.Runs.Where(r => r.Id == update.RunId);
            _ = update switch
            {
                HistoryRunClosed c => await run.ExecuteUpdateAsync(
                    s => s.SetProperty(r => r.Status, c.Status)
                        .SetProperty(r => r.Verdict, c.Verdict)
                        .SetProperty(r => r.ExitCode, c.ExitCode)
                        .SetProperty(r => r.Signal, c.Signal)
                        .SetProperty(r => r.WallMs, c.WallMs)
                        .SetProperty(r => r.CpuMs, c.CpuMs)
                        .SetProperty(r => r.PeakMemoryBytes, c.PeakMemoryBytes)
                        .SetProperty(r => r.FinishedAtUtc, c.FinishedAtUtc)
                        .SetProperty(r => r.FailureReason, c.FailureReason)
                        .SetProperty(r => r.TranscriptTruncated, c.Truncated)
                        .SetProperty(r => r.TranscriptIncomplete, r => r.TranscriptIncomplete || c.Incomplete),
                    cancellationToken),
                _ => await run.ExecuteUpdateAsync(s => s.SetProperty(r => r.TranscriptIncomplete, true), cancellationToken),
            };
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static void Apply(RunRecord record, HistoryRunClosed closed)
    {
        record.Status = closed.Status;
        record.Verdict = closed.Verdict;
        record.ExitCode = closed.ExitCode;
        record.Signal = closed.Signal;
        record.WallMs = closed.WallMs;
        record.CpuMs = closed.CpuMs;
        record.PeakMemoryBytes = closed.PeakMemoryBytes;
        record.FinishedAtUtc = closed.FinishedAtUtc;
        record.FailureReason = closed.FailureReason;
        record.TranscriptTruncated = closed.Truncated;
        record.TranscriptIncomplete |= closed.Incomplete;
    }

    private static RunRecord Copy(RunRecord r) => new()
    {
        Id = r.Id,
        Owner = r.Owner,
        Course = r.Course,
        ClientKey = r.ClientKey,
        Kind = r.Kind,
        Status = r.Status,
        Surface = r.Surface,
        Backend = r.Backend,
        Language = r.Language,
        FilesJson = r.FilesJson,
        Stdin = r.Stdin,
        LimitsJson = r.LimitsJson,
        QueuedAtUtc = r.QueuedAtUtc,
        StartedAtUtc = r.StartedAtUtc,
        TranscriptIncomplete = r.TranscriptIncomplete,
    };
}
