using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.RunViews;

/// <summary>
/// The names the run lists show instead of ids: owners' emails and courses' codes and names, in two small look-ups
/// (runs keep both ids as text, so joins would compare text with Guid columns). Shared by the run pages, live runs
/// and the admin dashboard.
/// </summary>
internal sealed record RunNames(IReadOnlyDictionary<string, string> Emails, IReadOnlyDictionary<string, (string Code, string Name)> Courses)
{
    public static async Task<RunNames> LookUpAsync(IrisDbContext db, IEnumerable<string?> ownerIds, IEnumerable<string?> courseIds, CancellationToken cancellationToken)
    {
        var owners = ownerIds.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var courses = courseIds.Select(c => Guid.TryParse(c, out var g) ? g : (Guid?)null).OfType<Guid>().Distinct().ToList();
        var emails = owners.Count == 0 ? [] : await db.Users.AsNoTracking().Where(u => owners.Contains(u.Id))
            .Select(u => new { u.Id, Email = u.Email ?? u.UserName ?? u.Id }).ToDictionaryAsync(u => u.Id, u => u.Email, cancellationToken);
        var names = courses.Count == 0 ? [] : await db.Courses.AsNoTracking().Where(c => courses.Contains(c.Id))
            .Select(c => new { c.Id, c.Code, c.Name }).ToDictionaryAsync(c => c.Id.ToString(), c => (c.Code, c.Name), cancellationToken);
        return new RunNames(emails, names);
    }

    public string? Email(string? ownerId) => ownerId is { } id && Emails.TryGetValue(id, out var email) ? email : null;

    public (string Code, string Name)? Course(string? courseId) => courseId is { } id && Courses.TryGetValue(id, out var course) ? course : null;
}
