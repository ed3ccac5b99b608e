using IrisIde.Execution.Telemetry;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Metrics;

/// <summary>
/// Feeds the batch gauges: <c>iris_queue_depth</c> (batch jobs queued and not started, all web replicas alike), read
/// from the database every <see cref="Interval"/> because a scrape must not query it, and the workers from the
/// <see cref="IWorkerGauge"/> (heartbeats, in memory) at each scrape.
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
    }

    [LoggerMessage(EventId = 6800, Level = LogLevel.Warning, Message = "Reading the batch queue gauges failed; they keep their last values")]
    private static partial void SampleFailed(ILogger logger, Exception exception);
}
