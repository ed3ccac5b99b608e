using System.Runtime.CompilerServices;
using System.Security.Claims;
using System.Text.Json;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.RunViews;

/// <summary>One run as the run lists show it, with its owner's email and its course's code looked up.</summary>
public sealed record RunRow(
    Guid Id,
    string Surface,
    string Language,
    RunRecordStatus Status,
    string? Verdict,
    int? ExitCode,
    int? Signal,
    DateTime StartedAtUtc,
    long? WallMs,
    long? CpuMs,
    long? PeakMemoryBytes,
    string? OwnerId,
    string? OwnerEmail,
    string? CourseId,
    string? CourseCode);

/// <summary>A page of rows, newest first; <see cref="Total"/> counts every run the filters match.</summary>
public sealed record RunRowPage(int Page, int PageSize, int Total, IReadOnlyList<RunRow> Rows)
{
    /// <summary>The verdict, or the status while the run has none (queued, running, failed).</summary>
    public static string Outcome(RunRow row) => row.Verdict ?? row.Status.ToString().ToLowerInvariant();

    public int PageCount => Math.Max(1, (Total + PageSize - 1) / PageSize);
}

/// <summary>One run with what its page shows: the row, the files as run, and whether its content is kept.</summary>
public sealed record RunDetails(RunRow Run, RunRecord Record, IReadOnlyList<BatchFile> Files, bool ContentExpired);

/// <summary>A student's runs in one course, summed: how many of each verdict, and how many per day.</summary>
public sealed record StudentRunSummary(int Total, IReadOnlyList<(string Verdict, int Count)> Verdicts, IReadOnlyList<(DateOnly Day, int Count)> Days);

/// <summary>
/// The queries behind the run pages (My runs, a run, course runs, a student's runs, the CSV export). Who may see
/// which run is <see cref="RunVisibility"/>'s alone: every list starts from its query, and one run from its
/// <see cref="RunVisibility.FindAsync"/>, so the pages cannot show what the API would not. Filtering, counting and
/// paging run in the database; only a page of rows (and its owners' emails and courses' codes) is read.
/// </summary>
public sealed class RunViewReader(IrisDbContext db, RunVisibility visibility, CourseService courses)
{
    /// <summary>How many of a student's most recent runs the per-student summary adds up.</summary>
    public const int SummaryRunLimit = 5000;

    public Task<IQueryable<RunRecord>> VisibleAsync(ClaimsPrincipal user, CancellationToken cancellationToken) =>
        visibility.VisibleAsync(user, cancellationToken);

    /// <summary>
    /// The course as its staff see it: its teaching assistants, instructors and admins; null for anyone else
    /// (its students too), exactly as for a course that does not exist.
    /// </summary>
    public async Task<CourseView?> StaffViewAsync(ClaimsPrincipal user, Guid courseId, CancellationToken cancellationToken) =>
        CourseActor.Of(user) is { } actor && await courses.FindAsync(actor, courseId, cancellationToken) is { MaySeeRoster: true } view ? view : null;

    public async Task<RunRowPage> PageAsync(IQueryable<RunRecord> runs, int page, int pageSize, CancellationToken cancellationToken)
    {
        var total = await runs.CountAsync(cancellationToken);
        var rows = await RunPaging.PageAsync(db, runs, page, pageSize, Projection, r => r.Id, cancellationToken);
        return new RunRowPage(page, pageSize, total, await NamedAsync(rows, cancellationToken));
    }

    /// <summary>Every run the query matches, newest first, read in batches so a course's whole history never sits in memory.</summary>
    public async IAsyncEnumerable<RunRow> AllAsync(IQueryable<RunRecord> runs, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const int batch = 500;
        for (var page = 1; ; page++)
        {
            var rows = await RunPaging.PageAsync(db, runs, page, batch, Projection, r => r.Id, cancellationToken);
            foreach (var row in await NamedAsync(rows, cancellationToken))
            {
                yield return row;
            }

            if (rows.Count < batch)
            {
                yield break;
            }
        }
    }

    /// <summary>The run if <paramref name="user"/> may see it (null otherwise, whichever the reason), with its files.</summary>
    public async Task<RunDetails?> DetailsAsync(ClaimsPrincipal user, Guid id, CancellationToken cancellationToken)
    {
        if (await visibility.FindAsync(user, id, cancellationToken) is not { } record)
        {
            return null;
        }

        var row = (await NamedAsync([Project(record)], cancellationToken))[0];
        return new RunDetails(row, record, Files(record.FilesJson), record.ContentExpiredAtUtc is not null);
    }

    /// <summary>The student's runs in the course, summed by verdict and by day (UTC) over their latest <see cref="SummaryRunLimit"/>.</summary>
    public async Task<StudentRunSummary> StudentSummaryAsync(Guid courseId, string userId, CancellationToken cancellationToken)
    {
        var course = courseId.ToString();
        var runs = db.Runs.AsNoTracking().Where(r => r.Course == course && r.Owner == userId);
        var total = await runs.CountAsync(cancellationToken);
        var latest = await runs.OrderByDescending(r => r.QueuedAtUtc)
            .Take(SummaryRunLimit)
            .Select(r => new { r.QueuedAtUtc, r.Verdict, r.Status })
            .ToListAsync(cancellationToken);
        var verdicts = latest.GroupBy(r => r.Verdict ?? r.Status.ToString().ToLowerInvariant())
            .Select(g => (g.Key, g.Count()))
            .OrderByDescending(g => g.Item2).ThenBy(g => g.Key, StringComparer.Ordinal)
            .ToList();
        var days = latest.GroupBy(r => DateOnly.FromDateTime(r.QueuedAtUtc))
            .Select(g => (g.Key, g.Count()))
            .OrderBy(g => g.Key)
            .ToList();
        return new StudentRunSummary(total, verdicts, days);
    }

    /// <summary>The email of a member of the course (any role), or null when they are not in it.</summary>
    public async Task<string?> MemberEmailAsync(Guid courseId, string userId, CancellationToken cancellationToken) =>
        await (from m in db.CourseMembers.AsNoTracking()
               join u in db.Users.AsNoTracking() on m.UserId equals u.Id
               where m.CourseId == courseId && m.UserId == userId
               select u.Email ?? u.UserName ?? u.Id).FirstOrDefaultAsync(cancellationToken);

    /// <summary>The course's students (by email) for the student filter.</summary>
    public async Task<IReadOnlyList<(string UserId, string Email)>> StudentsAsync(Guid courseId, CancellationToken cancellationToken)
    {
        var rows = await (from m in db.CourseMembers.AsNoTracking()
                          join u in db.Users.AsNoTracking() on m.UserId equals u.Id
                          where m.CourseId == courseId && m.Role == CourseRole.Student
                          select new { m.UserId, Email = u.Email ?? u.UserName ?? u.Id }).ToListAsync(cancellationToken);
        return [.. rows.OrderBy(r => r.Email, StringComparer.OrdinalIgnoreCase).Select(r => (r.UserId, r.Email))];
    }

    /// <summary>The files as stored (an empty list once the retention purge removed them or when they cannot be read).</summary>
    public static IReadOnlyList<BatchFile> Files(string filesJson)
    {
        try
        {
            return JsonSerializer.Deserialize(filesJson, RunViewJsonContext.Default.ListBatchFile) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static readonly System.Linq.Expressions.Expression<Func<RunRecord, RunRow>> Projection = r => new RunRow(
        r.Id, r.Surface, r.Language, r.Status, r.Verdict, r.ExitCode, r.Signal, r.StartedAtUtc ?? r.QueuedAtUtc,
        r.WallMs, r.CpuMs, r.PeakMemoryBytes, r.Owner, null, r.Course, null);

    private static RunRow Project(RunRecord r) => new(
        r.Id, r.Surface, r.Language, r.Status, r.Verdict, r.ExitCode, r.Signal, r.StartedAtUtc ?? r.QueuedAtUtc,
        r.WallMs, r.CpuMs, r.PeakMemoryBytes, r.Owner, null, r.Course, null);

    /// <summary>The page's owners' emails and courses' codes, in two small look-ups instead of joins on text ids.</summary>
    private async Task<IReadOnlyList<RunRow>> NamedAsync(List<RunRow> rows, CancellationToken cancellationToken)
    {
        var names = await RunNames.LookUpAsync(db, rows.Select(r => r.OwnerId), rows.Select(r => r.CourseId), cancellationToken);
        return [.. rows.Select(r => r with
        {
            StartedAtUtc = DateTime.SpecifyKind(r.StartedAtUtc, DateTimeKind.Utc),
            OwnerEmail = names.Email(r.OwnerId),
            CourseCode = names.Course(r.CourseId)?.Code,
        })];
    }
}

[System.Text.Json.Serialization.JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[System.Text.Json.Serialization.JsonSerializable(typeof(List<BatchFile>))]
internal sealed partial class RunViewJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
