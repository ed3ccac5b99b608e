using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json.Serialization;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using IrisIde.Web.Courses;
using IrisIde.Web.Hubs;
using IrisIde.Web.Persistence;
using IrisIde.Web.Security;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.History;

/// <summary>One item of a live watch stream (hub method <c>WatchRun</c>).</summary>
public sealed class LiveWatchMessage
{
    /// <summary><c>opened</c> (first, with the run's details), <c>chunk</c>, <c>ended</c> (last), or <c>error</c> (alone).</summary>
    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RunId { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Language { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Surface { get; init; }

    /// <summary>On <c>opened</c>: the earliest output is no longer kept, the backlog starts later.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Trimmed { get; init; }

    /// <summary>On <c>chunk</c>: milliseconds since the run started.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? T { get; init; }

    /// <summary>On <c>chunk</c>: <c>stdout</c>, <c>stderr</c>, <c>stdin</c> or <c>event</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Stream { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Data { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }
}

/// <summary>
/// Who may watch a live run: admins any; a signed-in member of the run's course who teaches or assists it (read
/// from the database at each watch, so a removed assistant stops at once); nobody else, not even with an access
/// token (a script has no business watching a student type). A run someone may not watch and a run that does not
/// exist get the same answer.
/// </summary>
public sealed class LiveWatchPolicy(IServiceScopeFactory scopes)
{
    public async Task<bool> MayWatchAsync(ClaimsPrincipal? user, LiveRunInfo run, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (user?.Identity?.IsAuthenticated != true || RunAccess.IsAccessToken(user))
        {
            return false;
        }

        if (user.IsInRole(IrisRoles.Admin))
        {
            return true;
        }

        if (RunAccess.UserId(user) is not { } userId || !Guid.TryParse(run.Course, out var courseId))
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        return await db.CourseMembers.AsNoTracking().AnyAsync(
            m => m.CourseId == courseId && m.UserId == userId && (m.Role == CourseRole.Instructor || m.Role == CourseRole.TeachingAssistant),
            cancellationToken);
    }

    /// <summary>The live runs <paramref name="user"/> may watch, oldest first: one query for the courses they staff, not one per run.</summary>
    public async Task<IReadOnlyList<LiveRun>> WatchableAsync(ClaimsPrincipal? user, LiveRuns live, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(live);
        var runs = live.List();
        if (runs.Count == 0 || user?.Identity?.IsAuthenticated != true || RunAccess.IsAccessToken(user))
        {
            return [];
        }

        if (user.IsInRole(IrisRoles.Admin))
        {
            return runs;
        }

        if (RunAccess.UserId(user) is not { } userId)
        {
            return [];
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        var staffed = (await db.CourseMembers.AsNoTracking()
            .Where(m => m.UserId == userId && (m.Role == CourseRole.Instructor || m.Role == CourseRole.TeachingAssistant))
            .Select(m => m.CourseId)
            .ToListAsync(cancellationToken)).Select(id => id.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return [.. runs.Where(r => r.Info.Course is { } course && staffed.Contains(course))];
    }
}

/// <summary>
/// The hub's side of live watch: the checks, then the run's backlog and its live feed as messages. One viewer
/// watches at most <see cref="MaxWatchesPerViewer"/> runs at once over all their connections, so one account cannot
/// take every run's <see cref="LiveRun.MaxWatchers"/> places (nor the memory of that many feeds).
/// </summary>
public sealed class LiveWatchStreams(LiveRuns live, LiveWatchPolicy policy, ILogger<LiveWatchStreams> logger)
{
    public const string NotWatchable = "no live run with that id that you may watch: it has ended, or it is not in a course you teach";

    /// <summary>Runs one user may watch at once: a lab's worth of students on one screen, and no more.</summary>
    public const int MaxWatchesPerViewer = 16;

    private readonly ConcurrentDictionary<string, int> _watchesByViewer = new(StringComparer.Ordinal);

    public async IAsyncEnumerable<LiveWatchMessage> WatchAsync(ClaimsPrincipal? user, string? runId, string connectionId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(runId, out var id) || live.Find(id) is not { } run || !await policy.MayWatchAsync(user, run.Info, cancellationToken))
        {
            HistoryLog.WatchRefused(logger, connectionId);
            yield return new LiveWatchMessage { Type = "error", Message = NotWatchable };
            yield break;
        }

        // Anyone the policy lets watch is signed in, so has an id.
        var viewer = RunAccess.UserId(user)!;
        if (!TryCount(viewer))
        {
            HistoryLog.WatchesCapped(logger, viewer, MaxWatchesPerViewer, connectionId);
            yield return new LiveWatchMessage { Type = "error", Message = $"you already watch {MaxWatchesPerViewer} runs, the most one person may watch at once: close one first" };
            yield break;
        }

        try
        {
            using var watch = run.Watch();
            if (watch is null)
            {
                yield return new LiveWatchMessage { Type = "error", Message = $"this run has ended, or it already has {LiveRun.MaxWatchers} watchers" };
                yield break;
            }

            HistoryLog.WatchStarted(logger, connectionId, id);
            yield return new LiveWatchMessage { Type = "opened", RunId = id.ToString(), Language = run.Info.Language, Surface = run.Info.Surface, Trimmed = watch.BacklogTrimmed };
            foreach (var chunk in watch.Backlog)
            {
                yield return Chunk(chunk);
            }

            await foreach (var chunk in watch.Feed.ReadAllAsync(cancellationToken))
            {
                yield return Chunk(chunk);
            }

            yield return new LiveWatchMessage { Type = "ended" };
        }
        finally
        {
            Uncount(viewer);
        }
    }

    private bool TryCount(string viewer)
    {
        while (true)
        {
            var current = _watchesByViewer.GetValueOrDefault(viewer);
            if (current >= MaxWatchesPerViewer)
            {
                return false;
            }

            if (current == 0 ? _watchesByViewer.TryAdd(viewer, 1) : _watchesByViewer.TryUpdate(viewer, current + 1, current))
            {
                return true;
            }
        }
    }

    private void Uncount(string viewer)
    {
        while (true)
        {
            var current = _watchesByViewer[viewer];
            // The last watch removes the entry, so the map holds only people watching now.
            if (current == 1 ? _watchesByViewer.TryRemove(new KeyValuePair<string, int>(viewer, 1)) : _watchesByViewer.TryUpdate(viewer, current - 1, current))
            {
                return;
            }
        }
    }

    private static LiveWatchMessage Chunk(LiveChunk chunk) => new() { Type = "chunk", T = chunk.T, Stream = chunk.Stream, Data = chunk.Data };
}

/// <summary>
/// Tells a student in the IDE when someone starts or stops watching their run: the hub sends the connection that
/// started it <c>watching(runId, count)</c>. Runs over <c>/ws</c> are watched without a notice: the runner
/// protocol is a contract with existing clients and has no such message.
/// </summary>
public sealed class LiveWatchNotifier(LiveRuns live, ExecutionHubRuns runs, IHubContext<ExecutionHub> hub, ILogger<LiveWatchNotifier> logger) : IHostedService
{
    public const string Method = "watching";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        live.WatchersChanged += Notify;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        live.WatchersChanged -= Notify;
        return Task.CompletedTask;
    }

    private void Notify(LiveRun run, int watchers)
    {
        if (runs.ConnectionOf(run.Info.RunId) is not { } connection)
        {
            return;
        }

        _ = SendAsync(connection, run, watchers);
    }

    private async Task SendAsync(string connection, LiveRun run, int watchers)
    {
        var runId = run.Info.RunId;
        try
        {
            // The count as it is now: two changes close together may be sent in either order, the last one sent
            // should still be right.
            await hub.Clients.Client(connection).SendAsync(Method, runId.ToString(), run.Ended ? 0 : run.Watchers);
        }
        catch (Exception e)
        {
            HistoryLog.WatchNoticeFailed(logger, runId, e);
        }
    }
}

/// <summary>
/// An admin ends a student's running session, whatever surface it came from (the hub or <c>/ws</c>): the run stops
/// with verdict <c>killed</c> and "ended by an admin (who)", its transcript says so, and the audit log records it
/// (<c>session.ended_by_admin</c>), refused attempts included.
/// </summary>
public sealed class LiveRunEnding(LiveRuns live, AuditRecorder audit)
{
    public bool End(ClaimsPrincipal? user, Guid runId)
    {
        var admin = user?.Identity?.IsAuthenticated == true && user.IsInRole(IrisRoles.Admin) && !RunAccess.IsAccessToken(user);
        var actor = user is not null && RunAccess.UserId(user) is { } userId
            ? AuditActor.User(userId, user.FindFirstValue(ClaimTypes.Email) ?? user.Identity?.Name)
            : AuditActor.Anonymous;
        var target = $"run {runId:N}";
        if (!admin)
        {
            audit.Record(AuditActions.SessionEndedByAdmin, actor, target, AuditOutcome.Failure, "not an admin");
            return false;
        }

        if (live.Find(runId) is not { } run || !run.Stop($"ended by an admin ({actor.Name})"))
        {
            audit.Record(AuditActions.SessionEndedByAdmin, actor, target, AuditOutcome.Failure, "no such run is going");
            return false;
        }

        audit.Record(AuditActions.SessionEndedByAdmin, actor, target, AuditOutcome.Success,
            $"{run.Info.Language} run on {run.Info.Surface} of user {run.Info.Owner ?? "anonymous"}");
        return true;
    }
}
