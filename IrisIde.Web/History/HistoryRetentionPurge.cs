using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

/// <summary>
/// Removes the transcripts, files and stdin of interactive runs that ended more than <c>Iris:History:RetentionDays</c>
/// ago, or their course's own <see cref="Courses.Course.HistoryRetentionDays"/>. The rows stay, marked with
/// <see cref="RunRecord.ContentExpiredAtUtc"/>: the list still shows the run and its verdict. Batch runs keep
/// following <c>Iris:Batch:RetentionDays</c>. Deletes by run id in batches, so instances purge side by side.
/// </summary>
public sealed class HistoryRetentionPurge(
    IServiceScopeFactory scopes,
    IOptionsMonitor<HistoryOptions> options,
    TimeProvider time,
    ILogger<HistoryRetentionPurge> logger) : PeriodicPurge(time)
{
    private const int BatchSize = 200;

    protected override TimeSpan Interval => TimeSpan.FromMinutes(options.CurrentValue.PurgeIntervalMinutes);

    protected override void LogFailure(Exception exception) => HistoryLog.PurgeFailed(logger, exception);

    public override async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        Dictionary<string, int> ownRetention;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
            var courses = await db.Courses.AsNoTracking().Where(c => c.HistoryRetentionDays != null)
                .Select(c => new { c.Id, Days = c.HistoryRetentionDays!.Value }).ToListAsync(cancellationToken);
            ownRetention = courses.ToDictionary(c => c.Id.ToString(), c => c.Days, StringComparer.Ordinal);
        }

        var global = now - TimeSpan.FromDays(options.CurrentValue.RetentionDays);
        var exceptions = ownRetention.Keys.ToList();
        var total = await PurgeWhereAsync(r => (r.Course == null || !exceptions.Contains(r.Course)) && (r.FinishedAtUtc ?? r.QueuedAtUtc) < global, now, cancellationToken);
        foreach (var (course, days) in ownRetention)
        {
            var before = now - TimeSpan.FromDays(days);
            total += await PurgeWhereAsync(r => r.Course == course && (r.FinishedAtUtc ?? r.QueuedAtUtc) < before, now, cancellationToken);
        }

        if (total > 0)
        {
            HistoryLog.Purged(logger, total);
        }

        return total;
    }

    private async Task<int> PurgeWhereAsync(System.Linq.Expressions.Expression<Func<RunRecord, bool>> due, DateTime now, CancellationToken cancellationToken)
    {
        var total = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
            var ids = await db.Runs.AsNoTracking()
                .Where(r => r.Kind == RunKind.Interactive && r.ContentExpiredAtUtc == null)
                .Where(due)
                .OrderBy(r => r.QueuedAtUtc)
                .Select(r => r.Id)
                .Take(BatchSize)
                .ToListAsync(cancellationToken);
            if (ids.Count == 0)
            {
                return total;
            }

            // Chunks first: a pass cut short between the two leaves the run unmarked, and the next pass finishes it.
            await db.TranscriptChunks.Where(c => ids.Contains(c.RunId)).ExecuteDeleteAsync(cancellationToken);
            total += await db.Runs.Where(r => ids.Contains(r.Id) && r.ContentExpiredAtUtc == null).ExecuteUpdateAsync(
                s => s.SetProperty(r => r.FilesJson, "[]")
                    .SetProperty(r => r.Stdin, (string?)null)
                    .SetProperty(r => r.ContentExpiredAtUtc, now),
                cancellationToken);
            if (ids.Count < BatchSize)
            {
                return total;
            }
        }
    }
}
