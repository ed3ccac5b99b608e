using System.Security.Claims;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using IrisIde.Web.Security;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.History;

/// <summary>
/// Which runs a caller may see, the same for the list, one run and its transcript: admins all; a signed-in user
/// their own and, with a cookie sign-in, every run in a course they teach or assist; an access token only its
/// user's own runs (a token is a script's key, not a member's view of a course). A run the caller may not see
/// is answered exactly like one that does not exist. A run without an owner (an anonymous one) stays readable by
/// whoever knows its id, as before accounts, but is listed to admins only.
/// </summary>
public sealed class RunVisibility(IrisDbContext db)
{
    /// <summary>The runs <paramref name="user"/> may list, as a query still to be filtered, ordered and paged in the database.</summary>
    public async Task<IQueryable<RunRecord>> VisibleAsync(ClaimsPrincipal user, CancellationToken cancellationToken)
    {
        var runs = db.Runs.AsNoTracking();
        if (user.Identity?.IsAuthenticated == true && user.IsInRole(IrisRoles.Admin))
        {
            return runs;
        }

        if (RunAccess.UserId(user) is not { } userId)
        {
            return runs.Where(r => false);
        }

        if (RunAccess.IsAccessToken(user))
        {
            return runs.Where(r => r.Owner == userId);
        }

        // A handful of ids, compared as the text runs store; a join would compare Guid columns with text.
        var staffed = await StaffedCoursesAsync(userId, cancellationToken);
        return staffed.Count == 0
            ? runs.Where(r => r.Owner == userId)
            : runs.Where(r => r.Owner == userId || (r.Course != null && staffed.Contains(r.Course)));
    }

    /// <summary>The run, if it exists and <paramref name="user"/> may see it; null otherwise, whichever the reason.</summary>
    public async Task<RunRecord?> FindAsync(ClaimsPrincipal user, Guid id, CancellationToken cancellationToken)
    {
        var record = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (record is null || RunAccess.MayRead(user, record.Owner))
        {
            return record;
        }

        if (record.Course is null || RunAccess.IsAccessToken(user) || RunAccess.UserId(user) is not { } userId)
        {
            return null;
        }

        return (await StaffedCoursesAsync(userId, cancellationToken)).Contains(record.Course) ? record : null;
    }

    private async Task<List<string>> StaffedCoursesAsync(string userId, CancellationToken cancellationToken)
    {
        var ids = await db.CourseMembers.AsNoTracking()
            .Where(m => m.UserId == userId && (m.Role == CourseRole.Instructor || m.Role == CourseRole.TeachingAssistant))
            .Select(m => m.CourseId)
            .ToListAsync(cancellationToken);
        return [.. ids.Select(i => i.ToString())];
    }
}
