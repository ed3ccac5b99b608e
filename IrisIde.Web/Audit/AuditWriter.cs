using IrisIde.Web.Persistence;

namespace IrisIde.Web.Audit;

/// <summary>
/// Empties <see cref="AuditRecorder"/>'s queue into the database in batches. A batch the database refuses
/// is logged and counted as lost, and the writer pauses a second before the next: the queue keeps filling
/// meanwhile and, if the outage lasts, drops (counted) instead of holding anyone up.
/// </summary>
public sealed class AuditWriter(AuditRecorder recorder, IServiceScopeFactory scopes, TimeProvider time, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int BatchSize = 200;

    private static readonly TimeSpan FailurePause = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan RefusalFlushInterval = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan ShutdownDrainLimit = TimeSpan.FromSeconds(5);

    // One batch at a time: a drain waits for the batch the background loop has taken but not yet stored.
    private readonly SemaphoreSlim _writing = new(1, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var flusher = FlushRefusalsPeriodicallyAsync(stoppingToken);
        try
        {
            while (await recorder.Reader.WaitToReadAsync(stoppingToken))
            {
                if (!await WriteBatchAsync(stoppingToken))
                {
                    await Task.Delay(FailurePause, time, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what is queued still goes in below, for a few seconds at most.
        }

        using var drain = new CancellationTokenSource(ShutdownDrainLimit);
        await DrainAsync(drain.Token);
        await flusher;
    }

    /// <summary>
    /// Writes everything queued now, refusal counts included (the <c>admin</c> commands call this before they exit);
    /// what the background loop took before the call is stored when it returns too.
    /// </summary>
    public async Task DrainAsync(CancellationToken cancellationToken)
    {
        recorder.FlushRefusals(force: true);
        try
        {
            // At least one turn, even with nothing queued: it waits for a batch in flight.
            while (await WriteBatchAsync(cancellationToken) && recorder.Reader.Count > 0)
            {
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            AuditLog.DrainCutShort(logger, recorder.Reader.Count);
        }
    }

    public override void Dispose()
    {
        _writing.Dispose();
        base.Dispose();
    }

    private async Task<bool> WriteBatchAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            return await TakeAndWriteBatchAsync(cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    private async Task<bool> TakeAndWriteBatchAsync(CancellationToken cancellationToken)
    {
        var batch = new List<AuditEntry>(BatchSize);
        while (batch.Count < BatchSize && recorder.Reader.TryRead(out var entry))
        {
            batch.Add(entry);
        }

        if (batch.Count == 0)
        {
            return true;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
            db.AuditEntries.AddRange(batch);
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            recorder.CountLost(batch.Count);
            AuditLog.WriteFailed(logger, batch.Count, e);
            return false;
        }
    }

    private async Task FlushRefusalsPeriodicallyAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(RefusalFlushInterval, time, stoppingToken);
                recorder.FlushRefusals();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
