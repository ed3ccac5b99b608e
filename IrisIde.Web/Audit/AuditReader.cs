using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Audit;

/// <summary>What the admin audit page asks for: all optional; dates are whole UTC days, both included.</summary>
public sealed record AuditFilter(string? Action = null, string? Actor = null, DateOnly? From = null, DateOnly? To = null);

/// <summary>One page of entries, newest first, and whether an older page exists.</summary>
public sealed record AuditPage(IReadOnlyList<AuditEntry> Entries, int Page, bool HasOlder);

/// <summary>Reads the audit log for the admin page: filtered and paged in the database, never loaded whole.</summary>
public sealed class AuditReader(IrisDbContext db)
{
    public const int PageSize = 50;

    /// <param name="page">1 for the newest entries.</param>
    public async Task<AuditPage> ReadAsync(AuditFilter filter, int page, CancellationToken cancellationToken, int pageSize = PageSize)
    {
        // A page number from the address bar: never an overflowing offset.
        page = Math.Clamp(page, 1, int.MaxValue / (pageSize + 1));
        var query = db.AuditEntries.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(filter.Action))
        {
            query = query.Where(e => e.Action == filter.Action);
        }

        if (!string.IsNullOrWhiteSpace(filter.Actor))
        {
            // The email as shown, the user id, or anonymous / system / cli.
            var actor = filter.Actor.Trim();
            query = query.Where(e => e.Actor == actor || e.ActorId == actor);
        }

        if (filter.From is { } from)
        {
            var start = from.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            query = query.Where(e => e.AtUtc >= start);
        }

        if (filter.To is { } to)
        {
            var end = to.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc);
            query = query.Where(e => e.AtUtc < end);
        }

        // One row more than a page tells whether an older page exists, without counting the table.
        var rows = await query.OrderByDescending(e => e.AtUtc).ThenByDescending(e => e.Id)
            .Skip((page - 1) * pageSize).Take(pageSize + 1)
            .ToListAsync(cancellationToken);
        return new AuditPage(rows.Take(pageSize).ToList(), page, rows.Count > pageSize);
    }
}
