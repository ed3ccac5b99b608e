using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Persistence;
using IrisIde.Web.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.History;

/// <summary>One run in the list: enough to find it; <c>GET /api/v1/runs/{id}</c> has the rest.</summary>
public sealed record RunListItem(
    Guid Id,
    string Surface,
    string? Backend,
    string Language,
    string Status,
    string? Verdict,
    int? ExitCode,
    int? Signal,
    DateTime StartedAt,
    DateTime? FinishedAt,
    long? WallMs,
    string? Owner,
    string? Course,
    bool TranscriptTruncated,
    bool TranscriptIncomplete);

/// <summary>A page of runs, newest first; <see cref="Total"/> counts every run the filters match.</summary>
public sealed record RunPage(int Page, int PageSize, int Total, IReadOnlyList<RunListItem> Items);

/// <summary>One chunk of a transcript: milliseconds since the run started, the stream, the text.</summary>
public sealed record TranscriptEvent(long T, string Stream, string Data);

/// <summary>
/// A run's transcript in time order. <see cref="Incomplete"/>: some chunks never reached the database;
/// <see cref="Expired"/>: the retention purge removed it (the run is still listed).
/// </summary>
public sealed record RunTranscriptDto(Guid RunId, bool Truncated, bool Incomplete, bool Expired, IReadOnlyList<TranscriptEvent> Events);

/// <summary>
/// The run history's HTTP surface: <c>GET /api/v1/runs</c> (the runs the caller may see, filtered and paged in the
/// database) and <c>GET /api/v1/runs/{id}/transcript</c>. Who sees what is <see cref="RunVisibility"/>'s; tokens
/// need <c>runs:read</c>.
/// </summary>
public static class RunHistoryApi
{
    public const int DefaultPageSize = 20;

    public const int MaxPageSize = 100;

    public static IEndpointRouteBuilder MapRunHistoryApi(this IEndpointRouteBuilder endpoints)
    {
        var runs = endpoints.MapGroup("/api/v1/runs").WithTags("Run history");
        runs.MapGet("/", ListRunsAsync).WithName("ListRuns").RequireRunAccess(AccessTokenScopes.RunsRead);
        runs.MapGet("/{id}/transcript", GetTranscriptAsync).WithName("GetRunTranscript").RequireRunAccess(AccessTokenScopes.RunsRead);
        return endpoints;
    }

    internal static async Task<Results<Ok<RunPage>, ProblemHttpResult>> ListRunsAsync(
        HttpContext context, RunVisibility visibility, LanguageCatalog catalog, IrisDbContext db, CancellationToken cancellationToken)
    {
        var (query, error) = RunListQuery.Parse(context.Request.Query, catalog);
        if (query is null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid runs query");
        }

        var runs = query.Apply(await visibility.VisibleAsync(context.User, cancellationToken));
        var total = await runs.CountAsync(cancellationToken);
        var items = await RunPaging.PageAsync(
            db,
            runs,
            query.Page,
            query.PageSize,
            r => new
            {
                r.Id,
                r.Surface,
                r.Backend,
                r.Language,
                r.Status,
                r.Verdict,
                r.ExitCode,
                r.Signal,
                StartedAt = r.StartedAtUtc ?? r.QueuedAtUtc,
                r.FinishedAtUtc,
                r.WallMs,
                r.Owner,
                r.Course,
                r.TranscriptTruncated,
                r.TranscriptIncomplete,
            },
            r => r.Id,
            cancellationToken);
        return TypedResults.Ok(new RunPage(query.Page, query.PageSize, total, [.. items.Select(r => new RunListItem(
            r.Id, r.Surface, r.Backend, r.Language, r.Status.ToString().ToLowerInvariant(), r.Verdict, r.ExitCode, r.Signal,
            Utc(r.StartedAt), r.FinishedAtUtc is { } f ? Utc(f) : null, r.WallMs, r.Owner, r.Course, r.TranscriptTruncated, r.TranscriptIncomplete))]));
    }

    internal static async Task<Results<Ok<RunTranscriptDto>, NotFound>> GetTranscriptAsync(
        string id, RunVisibility visibility, IrisDbContext db, HttpContext context, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var runId) || await visibility.FindAsync(context.User, runId, cancellationToken) is not { } record)
        {
            return TypedResults.NotFound();
        }

        var chunks = await db.TranscriptChunks.AsNoTracking()
            .Where(c => c.RunId == runId)
            .OrderBy(c => c.Sequence)
            .Select(c => new TranscriptEvent(c.TimeMs, c.Stream, c.Data))
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(new RunTranscriptDto(record.Id, record.TranscriptTruncated, record.TranscriptIncomplete, record.ContentExpiredAtUtc is not null, chunks));
    }

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);
}

/// <summary>The filters and page of <c>GET /api/v1/runs</c>, parsed with a message for each bad value.</summary>
internal sealed record RunListQuery(int Page, int PageSize, Guid? Course, string? User, IReadOnlyList<string>? Languages, string? Verdict, string? Surface, DateTime? From, DateTime? To)
{
    public static (RunListQuery? Query, string? Error) Parse(IQueryCollection query, LanguageCatalog catalog)
    {
        string? One(string name) => query[name].FirstOrDefault() is { Length: > 0 } value ? value.Trim() : null;

        var page = 1;
        if (One("page") is { } p && (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out page) || page < 1))
        {
            return (null, $"'page' must be a whole number of at least 1 (is '{Shorten(p)}')");
        }

        var pageSize = RunHistoryApi.DefaultPageSize;
        if (One("pageSize") is { } s && (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize < 1 || pageSize > RunHistoryApi.MaxPageSize))
        {
            return (null, $"'pageSize' must be a whole number from 1 to {RunHistoryApi.MaxPageSize} (is '{Shorten(s)}')");
        }

        if ((long)(page - 1) * pageSize > int.MaxValue)
        {
            return (null, $"'page' is too large (page {page} of {pageSize} runs)");
        }

        Guid? course = null;
        if (One("course") is { } c)
        {
            if (!Guid.TryParse(c, out var parsed))
            {
                return (null, $"'course' must be a course id (a GUID; is '{Shorten(c)}')");
            }

            course = parsed;
        }

        IReadOnlyList<string>? languages = null;
        if (One("language") is { } l)
        {
            // Batch runs store the name as the client sent it (an alias), sessions the catalogue id: match both.
            languages = catalog.TryResolve(l, out var resolved)
                ? [.. new[] { resolved.Id, l }.Concat(resolved.Aliases).Distinct(StringComparer.Ordinal)]
                : [l];
        }

        var verdict = One("verdict");
        if (verdict is not null && !VerdictExtensions.TryParseWireName(verdict, out _))
        {
            return (null, $"'verdict' must be one of {string.Join(", ", Enum.GetValues<Verdict>().Select(v => v.ToWireName()))} (is '{Shorten(verdict)}')");
        }

        var surface = One("surface");
        if (surface is not null && !RunSurfaces.All.Contains(surface, StringComparer.Ordinal))
        {
            return (null, $"'surface' must be one of {string.Join(", ", RunSurfaces.All)} (is '{Shorten(surface)}')");
        }

        var (from, fromError) = ParseTime(One("from"), "from", endOfDay: false);
        var (to, toError) = ParseTime(One("to"), "to", endOfDay: true);
        if ((fromError ?? toError) is { } timeError)
        {
            return (null, timeError);
        }

        if (from is not null && to is not null && from > to)
        {
            return (null, "'from' must not be after 'to'");
        }

        return (new RunListQuery(page, pageSize, course, One("user"), languages, verdict, surface, from, to), null);
    }

    public IQueryable<RunRecord> Apply(IQueryable<RunRecord> runs)
    {
        if (Course is { } course)
        {
            var text = course.ToString();
            runs = runs.Where(r => r.Course == text);
        }

        if (User is { } user)
        {
            runs = runs.Where(r => r.Owner == user);
        }

        if (Languages is { } languages)
        {
            runs = runs.Where(r => languages.Contains(r.Language));
        }

        if (Verdict is { } verdict)
        {
            runs = runs.Where(r => r.Verdict == verdict);
        }

        if (Surface is { } surface)
        {
            runs = runs.Where(r => r.Surface == surface);
        }

        if (From is { } from)
        {
            runs = runs.Where(r => r.QueuedAtUtc >= from);
        }

        if (To is { } to)
        {
            runs = runs.Where(r => r.QueuedAtUtc < to);
        }

        return runs;
    }

    /// <summary>An ISO 8601 date or time, UTC unless it says otherwise; a bare date as <c>to</c> includes that whole day.</summary>
    private static (DateTime? Value, string? Error) ParseTime(string? value, string name, bool endOfDay)
    {
        if (value is null)
        {
            return (null, null);
        }

        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            var start = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            return (endOfDay ? start.AddDays(1) : start, null);
        }

        return DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var time)
            ? (time.UtcDateTime, null)
            : (null, $"'{name}' must be an ISO 8601 date or time such as 2026-11-30 or 2026-11-30T14:00:00Z (is '{Shorten(value)}')");
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(RunPage))]
[JsonSerializable(typeof(RunTranscriptDto))]
internal sealed partial class RunHistoryJsonContext : JsonSerializerContext;
