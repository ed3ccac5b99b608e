using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Audit;

/// <summary>
/// Deletes audit entries older than <c>Iris:Audit:RetentionDays</c>: at start-up and then every
/// <c>PurgeIntervalMinutes</c>, in batches so one pass never holds a long transaction. Several web instances
/// on one database may purge side by side: a batch deletes by id, and ids another instance deleted are gone.
/// </summary>
public sealed class AuditRetentionPurge(
    IServiceScopeFactory scopes,
    IOptionsMonitor<AuditOptions> options,
    TimeProvider time,
    ILogger<AuditRetentionPurge> logger) : PeriodicPurge(time)
{
    private const int BatchSize = 1000;

    protected override TimeSpan Interval => TimeSpan.FromMinutes(options.CurrentValue.PurgeIntervalMinutes);

    protected override void LogFailure(Exception exception) => AuditLog.PurgeFailed(logger, exception);

    /// <summary>One pass: deletes every entry that is due now; returns how many.</summary>
    public override async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var days = options.CurrentValue.RetentionDays;
        var before = Time.GetUtcNow().UtcDateTime - TimeSpan.FromDays(days);
        var total = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
            var ids = await db.AuditEntries.Where(e => e.AtUtc < before).OrderBy(e => e.Id).Select(e => e.Id).Take(BatchSize).ToListAsync(cancellationToken);
            if (ids.Count == 0)
            {
                break;
            }

            total += await db.AuditEntries.Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(cancellationToken);
            if (ids.Count < BatchSize)
            {
                break;
            }
        }

        if (total > 0)
        {
            AuditLog.Purged(logger, total, days);
        }

        return total;
    }
}
