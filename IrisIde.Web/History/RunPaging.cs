using System.Linq.Expressions;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.History;

/// <summary>
/// Newest-first pages of runs, for the runs API and the run pages alike. A page is read in two steps: the ids of
/// its runs, found by walking <c>IX_runs_Course_QueuedAtUtc</c> (which carries the id and every column the list
/// filters on, so a course's runs are counted, filtered and skipped without reading a single row), then only
/// those rows. A deep page of a course with 100,000 runs then skips index entries, not table rows.
/// </summary>
public static class RunPaging
{
    public static IQueryable<RunRecord> Newest(IQueryable<RunRecord> runs) =>
        runs.OrderByDescending(r => r.QueuedAtUtc).ThenByDescending(r => r.Id);

    /// <summary>The ids of one page, newest first (public for the test that checks the database serves it from the index alone).</summary>
    public static IQueryable<Guid> PageIds(IQueryable<RunRecord> runs, int page, int pageSize) =>
        Newest(runs).Skip((page - 1) * pageSize).Take(pageSize).Select(r => r.Id);

    /// <summary>One page of <paramref name="runs"/>, newest first, as <paramref name="projection"/> makes each.</summary>
    public static async Task<List<T>> PageAsync<T>(
        IrisDbContext db,
        IQueryable<RunRecord> runs,
        int page,
        int pageSize,
        Expression<Func<RunRecord, T>> projection,
        Func<T, Guid> idOf,
        CancellationToken cancellationToken)
    {
        var ids = await PageIds(runs, page, pageSize).ToListAsync(cancellationToken);
        if (ids.Count == 0)
        {
            return [];
        }

        var rows = await db.Runs.AsNoTracking().Where(r => ids.Contains(r.Id)).Select(projection).ToListAsync(cancellationToken);
        var position = ids.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => p.index);
        return [.. rows.OrderBy(r => position[idOf(r)])];
    }
}
