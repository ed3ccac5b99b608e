using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Persistence;

/// <summary>
/// Keeps SQLite's query planner informed: <c>PRAGMA optimize</c> over every table (with a bounded
/// <c>analysis_limit</c>, so it costs milliseconds) at start-up and then hourly. Without statistics SQLite picks
/// indexes by rule, and a course's runs filtered by student were read through the course index, all 100,000 of
/// them, instead of the student's (about 300 ms against 8 ms, bench section 8). PostgreSQL's autovacuum analyzes
/// on its own; this does nothing there.
/// </summary>
internal sealed partial class SqliteStatistics(IServiceScopeFactory scopes, TimeProvider time, ILogger<SqliteStatistics> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await OptimizeAsync(scopes, stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    OptimizeFailed(logger, e);
                }

                await Task.Delay(Interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass (0x10002: analyze every table whose statistics are missing or stale, not only the ones this connection used).</summary>
    public static async Task OptimizeAsync(IServiceScopeFactory scopes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        if (db.Database.IsSqlite())
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002;", cancellationToken);
        }
    }

    [LoggerMessage(EventId = 6830, Level = LogLevel.Warning, Message = "Refreshing SQLite's query statistics failed; trying again in an hour")]
    private static partial void OptimizeFailed(ILogger logger, Exception exception);
}
