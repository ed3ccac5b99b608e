using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Metrics;

/// <summary>
/// What <c>iris_workers</c> and <c>iris_worker_jobs_in_flight</c> report: the batch workers alive now and how many
/// jobs each runs. Called at every scrape, so it must answer from memory. The default
/// (<see cref="RecentRunWorkerGauge"/>) guesses from the run records; a heartbeat-fed registry replaces it by
/// registering its own implementation before <c>AddMetricsEndpoint</c> (which only adds the default when none is).
/// </summary>
public interface IWorkerGauge
{
    IReadOnlyList<(string WorkerId, int InFlight)> AliveWorkers();
}

/// <summary>
/// The stand-in until workers send heartbeats: a worker counts as alive when a batch job started on it in the last
/// <see cref="Window"/> (from <c>runs.WorkerId</c>), and its in-flight jobs are those of them still running. A worker
/// idle for longer is not seen, and one that died mid-job is seen until the window passes. Refreshed by
/// <see cref="BatchGaugeSampler"/>; zero workers until the first refresh.
/// </summary>
public sealed class RecentRunWorkerGauge : IWorkerGauge
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(2);

    private volatile IReadOnlyList<(string WorkerId, int InFlight)> _workers = [];

    public IReadOnlyList<(string WorkerId, int InFlight)> AliveWorkers() => _workers;

    internal async Task RefreshAsync(IrisDbContext db, DateTime nowUtc, CancellationToken cancellationToken)
    {
        var since = nowUtc - Window;
        var rows = await db.Runs
            .Where(r => r.Kind == RunKind.Batch && r.WorkerId != null && r.StartedAtUtc != null && r.StartedAtUtc >= since)
            .GroupBy(r => r.WorkerId!)
            .Select(g => new { WorkerId = g.Key, InFlight = g.Count(r => r.Status == RunRecordStatus.Running) })
            .ToListAsync(cancellationToken);
        _workers = [.. rows.OrderBy(r => r.WorkerId, StringComparer.Ordinal).Select(r => (r.WorkerId, r.InFlight))];
    }
}
