using System.Globalization;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Courses;

/// <summary>
/// Unknown join codes per user, against a student scripting guesses: after <see cref="CoursesOptions.MaxFailedJoinsPerUser"/>
/// within <see cref="CoursesOptions.JoinLockoutMinutes"/> the user's joins are refused, a valid code's too, until the
/// oldest of them leaves the window. Per user, not per address: a class joining together behind one school address
/// is not held up by one student's typos. The failures live in the database so that several web replicas share them;
/// attempts refused while locked are not counted, so the rows a user can add stay bounded by the limit.
/// </summary>
public sealed class JoinAttemptLimit(IrisDbContext db, TimeProvider time, IOptions<CoursesOptions> options, AuditRecorder audit, ILogger<JoinAttemptLimit> logger)
{
    /// <summary>When the user may try again, or null when they may now.</summary>
    public async Task<DateTime?> LockedUntilAsync(string userId, CancellationToken cancellationToken)
    {
        var rules = options.Value;
        var window = TimeSpan.FromMinutes(rules.JoinLockoutMinutes);
        var since = time.GetUtcNow().UtcDateTime - window;
        var recent = await db.CourseJoinFailures.AsNoTracking()
            .Where(f => f.UserId == userId && f.AtUtc > since)
            .OrderByDescending(f => f.AtUtc)
            .Select(f => f.AtUtc)
            .Take(rules.MaxFailedJoinsPerUser)
            .ToListAsync(cancellationToken);
        // Locked while the window holds the limit's worth; the oldest of the newest that many leaving it frees a try.
        return recent.Count >= rules.MaxFailedJoinsPerUser ? recent[^1] + window : null;
    }

    /// <summary>Counts an unknown code; the failure that reaches the limit locks the user out, which is logged and audited.</summary>
    public async Task RecordFailureAsync(CourseActor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var rules = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var since = now - TimeSpan.FromMinutes(rules.JoinLockoutMinutes);
        // The user's failures that no longer count go first, so the table holds at most the limit per user.
        await db.CourseJoinFailures.Where(f => f.UserId == actor.UserId && f.AtUtc <= since).ExecuteDeleteAsync(cancellationToken);
        db.CourseJoinFailures.Add(new CourseJoinFailure { UserId = actor.UserId, AtUtc = now });
        await db.SaveChangesAsync(cancellationToken);

        if (await LockedUntilAsync(actor.UserId, cancellationToken) is { } until)
        {
            CoursesLog.JoinLockedOut(logger, actor.UserId, rules.MaxFailedJoinsPerUser, until);
            audit.Record(AuditActions.CourseJoinLockedOut, actor.Audit, $"user {actor.UserId}", AuditOutcome.Failure,
                string.Create(CultureInfo.InvariantCulture, $"{rules.MaxFailedJoinsPerUser} unknown join codes within {rules.JoinLockoutMinutes} min; joins refused until {until:yyyy-MM-dd HH:mm:ss} UTC"));
        }
    }

    /// <summary>What the user reads while locked: whole minutes, rounded up, never "0 minutes".</summary>
    public string Refusal(DateTime until)
    {
        var minutes = Math.Max(1, (int)Math.Ceiling((until - time.GetUtcNow().UtcDateTime).TotalMinutes));
        return string.Create(CultureInfo.InvariantCulture,
            $"too many attempts with unknown join codes: try again in {minutes} {(minutes == 1 ? "minute" : "minutes")}.");
    }
}
