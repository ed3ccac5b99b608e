using System.Globalization;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Telemetry;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using IrisIde.Web.RunViews;
using IrisIde.Web.Workers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Dashboard;

/// <summary>One interactive session as the dashboard lists it.</summary>
/// <param name="Here">The session runs in this web process: its usage and idle time are known, and it can be ended from here.</param>
public sealed record DashboardSession(
    Guid RunId,
    string? OwnerId,
    string Student,
    string? CourseId,
    string Course,
    string Language,
    string Surface,
    string? Backend,
    DateTime StartedAtUtc,
    bool Here,
    double? CpuSeconds,
    long? MemoryBytes,
    TimeSpan? IdleFor,
    int Watchers);

/// <summary>What the admin dashboard shows at one moment.</summary>
public sealed record DashboardSnapshot(
    DateTime AtUtc,
    IReadOnlyList<DashboardSession> Sessions,
    int QueueDepth,
    double? QueueWaitP50Seconds,
    double? QueueWaitP95Seconds,
    int RunsLastMinute,
    IReadOnlyList<(string Verdict, int Count)> VerdictsLastHour,
    int SessionCapacity,
    int SessionsInUseHere,
    IReadOnlyList<WorkerStatus> Workers,
    double? StartP50Seconds,
    double? StartP95Seconds,
    int RefusedLastHourHere);

/// <summary>One point of the dashboard's charts.</summary>
public sealed record DashboardPoint(DateTime AtUtc, int Sessions, int QueueDepth, int RunsLastMinute);

/// <summary>
/// The admin dashboard's figures, pushed to every open dashboard about once a second (<see cref="Updated"/>), and
/// a point every <see cref="ChartInterval"/> kept for the charts' last hour. Sessions, queue and run counts are read
/// from the database, so every replica shows every replica's work; a session's CPU, memory and idle time, the
/// capacity in use, the start latency and refusals (this process's recent ones), the workers (heartbeats each
/// replica hears for itself, from every worker) and the actions are this replica's (a session elsewhere says so).
/// Nothing is read while no dashboard is open except the chart point.
/// </summary>
public sealed partial class AdminDashboard(
    IServiceScopeFactory scopes,
    LiveRuns live,
    RunAdmission admission,
    WorkerRegistry workers,
    IrisMetrics metrics,
    IOptions<ExecutionOptions> execution,
    TimeProvider time,
    ILogger<AdminDashboard> logger) : BackgroundService
{
    /// <summary>How often open dashboards get a new snapshot.</summary>
    public static readonly TimeSpan PushInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often a chart point is taken, open dashboard or not.</summary>
    public static readonly TimeSpan ChartInterval = TimeSpan.FromSeconds(10);

    /// <summary>The most sessions one snapshot lists (the oldest first); the count above the table is the whole.</summary>
    public const int MaxListedSessions = 500;

    private static readonly TimeSpan ChartSpan = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private readonly Queue<DashboardPoint> _points = new();
    private int _viewers;

    /// <summary>Raised with each snapshot while at least one dashboard is open (<see cref="Open"/>).</summary>
    public event Action<DashboardSnapshot>? Updated;

    /// <summary>Raised with each new chart point.</summary>
    public event Action<DashboardPoint>? Charted;

    /// <summary>The newest snapshot, for a dashboard that just opened.</summary>
    public DashboardSnapshot? Latest { get; private set; }

    /// <summary>The chart points of the last hour, oldest first.</summary>
    public IReadOnlyList<DashboardPoint> Points
    {
        get
        {
            lock (_gate)
            {
                return [.. _points];
            }
        }
    }

    /// <summary>A dashboard opened: snapshots are taken until every opener has disposed what this returns.</summary>
    public IDisposable Open()
    {
        Interlocked.Increment(ref _viewers);
        return new Viewer(this);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(PushInterval, time);
        var nextPoint = time.GetUtcNow();
        do
        {
            try
            {
                var now = time.GetUtcNow();
                var chart = now >= nextPoint;
                if (Volatile.Read(ref _viewers) > 0 || chart)
                {
                    var snapshot = await SnapshotAsync(stoppingToken);
                    Latest = snapshot;
                    if (chart)
                    {
                        nextPoint = now + ChartInterval;
                        AddPoint(new DashboardPoint(snapshot.AtUtc, snapshot.Sessions.Count, snapshot.QueueDepth, snapshot.RunsLastMinute));
                    }

                    if (Volatile.Read(ref _viewers) > 0)
                    {
                        Updated?.Invoke(snapshot);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A database that does not answer for a moment must not end the dashboard for good.
                SnapshotFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Reads the figures now (also what a test reads).</summary>
    public async Task<DashboardSnapshot> SnapshotAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();

        // A session cannot outlive the interactive wall limit: an older "running" row is a replica that died.
        var oldest = now - TimeSpan.FromSeconds(execution.Value.Interactive.WallSeconds) - TimeSpan.FromMinutes(1);
        var running = await db.Runs.AsNoTracking()
            .Where(r => r.Status == RunRecordStatus.Running && r.Kind == RunKind.Interactive && r.QueuedAtUtc >= oldest)
            .OrderBy(r => r.QueuedAtUtc)
            .Take(MaxListedSessions)
            .Select(r => new { r.Id, r.Owner, r.Course, r.Language, r.Surface, r.Backend, Started = r.StartedAtUtc ?? r.QueuedAtUtc })
            .ToListAsync(cancellationToken);

        var queueDepth = await db.Runs.AsNoTracking().CountAsync(r => r.Status == RunRecordStatus.Queued && r.Kind == RunKind.Batch, cancellationToken);
        var recentStart = now - TimeSpan.FromMinutes(10);
        var waits = await db.Runs.AsNoTracking()
            .Where(r => r.Kind == RunKind.Batch && r.QueuedAtUtc >= recentStart && r.StartedAtUtc != null)
            .OrderByDescending(r => r.QueuedAtUtc)
            .Take(500)
            .Select(r => new { r.QueuedAtUtc, Started = r.StartedAtUtc!.Value })
            .ToListAsync(cancellationToken);
        var hourAgo = now - ChartSpan;
        var minuteAgo = now - TimeSpan.FromMinutes(1);
        var ended = await db.Runs.AsNoTracking()
            .Where(r => r.QueuedAtUtc >= hourAgo && r.FinishedAtUtc != null)
            .GroupBy(r => r.Verdict)
            .Select(g => new { Verdict = g.Key, Count = g.Count(), LastMinute = g.Count(r => r.FinishedAtUtc >= minuteAgo) })
            .ToListAsync(cancellationToken);

        var sessions = await DescribeAsync(db, [.. running.Select(r => (r.Id, r.Owner, r.Course, r.Language, r.Surface ?? RunSurfaces.Ide, r.Backend, r.Started))], cancellationToken);
        var sortedWaits = waits.Select(w => (w.Started - w.QueuedAtUtc).TotalSeconds).Order().ToList();
        var starts = metrics.RecentStarts().Where(s => time.GetElapsedTime(s.Timestamp) <= ChartSpan).Select(s => s.Value).Order().ToList();
        var refused = metrics.RecentRefusals().Count(r => time.GetElapsedTime(r.Timestamp) <= ChartSpan);
        return new DashboardSnapshot(
            DateTime.SpecifyKind(now, DateTimeKind.Utc),
            sessions,
            queueDepth,
            Percentile(sortedWaits, 0.5),
            Percentile(sortedWaits, 0.95),
            ended.Sum(e => e.LastMinute),
            [.. ended.OrderByDescending(e => e.Count).Select(e => (e.Verdict ?? "unknown", e.Count))],
            admission.SessionCapacity,
            admission.ActiveSessions,
            workers.List(),
            Percentile(starts, 0.5),
            Percentile(starts, 0.95),
            refused);
    }

    private async Task<IReadOnlyList<DashboardSession>> DescribeAsync(
        IrisDbContext db,
        IReadOnlyList<(Guid Id, string? Owner, string? Course, string Language, string Surface, string? Backend, DateTime Started)> running,
        CancellationToken cancellationToken)
    {
        if (running.Count == 0)
        {
            return [];
        }

        var names = await RunNames.LookUpAsync(db, running.Select(r => r.Owner), running.Select(r => r.Course), cancellationToken);
        return [.. running.Select(r =>
        {
            var here = live.Find(r.Id);
            var usage = here?.ReadUsage();
            return new DashboardSession(
                r.Id,
                r.Owner,
                names.Email(r.Owner) ?? "anonymous",
                r.Course,
                names.Course(r.Course)?.Code ?? "—",
                r.Language,
                r.Surface,
                r.Backend,
                DateTime.SpecifyKind(r.Started, DateTimeKind.Utc),
                here is not null,
                usage?.CpuTime.TotalSeconds,
                usage?.MemoryBytes,
                here?.IdleFor,
                here?.Watchers ?? 0);
        })];
    }

    private static double? Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? null : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private void AddPoint(DashboardPoint point)
    {
        lock (_gate)
        {
            _points.Enqueue(point);
            while (_points.Count > 0 && _points.Peek().AtUtc < point.AtUtc - ChartSpan)
            {
                _points.Dequeue();
            }
        }

        Charted?.Invoke(point);
    }

    [LoggerMessage(EventId = 6820, Level = LogLevel.Warning, Message = "Admin dashboard: reading the figures failed; trying again in a second")]
    private static partial void SnapshotFailed(ILogger logger, Exception exception);

    private sealed class Viewer(AdminDashboard dashboard) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref dashboard._viewers);
            }
        }
    }

    /// <summary>"12 s", "3 min 4 s", "1 h 2 min": how long ago or for how long, for the table.</summary>
    public static string Span(TimeSpan span) => span.TotalSeconds switch
    {
        < 60 => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalSeconds} s"),
        < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalMinutes} min {span.Seconds} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)span.TotalHours} h {span.Minutes} min"),
    };
}
