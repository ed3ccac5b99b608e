using IrisIde.Execution.Telemetry;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Metrics;

/// <summary>
/// Feeds the gauges that live in the database: <c>iris_queue_depth</c> (batch jobs queued and not started, all web
/// replicas alike) and, while the default <see cref="RecentRunWorkerGauge"/> is the <see cref="IWorkerGauge"/>, the
/// workers seen. A scrape must not query the database, so this reads every <see cref="Interval"/> and the gauges
/// report the last reading.
/// </summary>
public sealed partial class BatchGaugeSampler(
    IServiceScopeFactory scopes,
    IrisMetrics metrics,
    IWorkerGauge workers,
    TimeProvider time,
    ILogger<BatchGaugeSampler> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private long _queued;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        metrics.ObserveQueueDepth(() => Interlocked.Read(ref _queued));
        metrics.ObserveWorkers(workers.AliveWorkers);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await SampleAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // A database hiccup leaves the last readings; the next tick tries again.
                SampleFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task SampleAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        var queued = await db.Runs.CountAsync(r => r.Kind == RunKind.Batch && r.Status == RunRecordStatus.Queued, cancellationToken);
        Interlocked.Exchange(ref _queued, queued);
        if (workers is RecentRunWorkerGauge recent)
        {
            await recent.RefreshAsync(db, time.GetUtcNow().UtcDateTime, cancellationToken);
        }
    }

    [LoggerMessage(EventId = 6800, Level = LogLevel.Warning, Message = "Reading the batch queue gauges failed; they keep their last values")]
    private static partial void SampleFailed(ILogger logger, Exception exception);
}
