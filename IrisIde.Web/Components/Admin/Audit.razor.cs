using System.Globalization;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.WebUtilities;

namespace IrisIde.Web.Components.Admin;

/// <summary>
/// The audit log for admins: filtered by action, actor and dates, paged in the database, newest first.
/// Admins only: the authorization middleware refuses anyone else before the page runs.
/// </summary>
public sealed partial class Audit
{
    private AuditPage _page = new([], 1, false);
    private string? _error;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "action")]
    private string? Action { get; set; }

    [SupplyParameterFromQuery(Name = "actor")]
    private string? Actor { get; set; }

    [SupplyParameterFromQuery(Name = "from")]
    private string? From { get; set; }

    [SupplyParameterFromQuery(Name = "to")]
    private string? To { get; set; }

    [SupplyParameterFromQuery(Name = "page")]
    private int? PageNumber { get; set; }

    [Inject]
    private AuditReader Reader { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        var from = ParseDate(From, "From");
        var to = ParseDate(To, "To");
        var action = string.IsNullOrWhiteSpace(Action) ? null : Action;
        if (action is not null && !AuditActions.All.Contains(action))
        {
            _error = $"Unknown action '{action}'.";
            action = null;
        }

        _page = await Reader.ReadAsync(new AuditFilter(action, Actor, from, to), PageNumber ?? 1, HttpContext.RequestAborted);
    }

    private DateOnly? ParseDate(string? text, string name)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        _error = $"{name} must be a date (yyyy-mm-dd).";
        return null;
    }

    private string PageLink(int page)
    {
        var query = new Dictionary<string, string?>();
        foreach (var (key, value) in new[] { ("action", Action), ("actor", Actor), ("from", From), ("to", To) })
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                query[key] = value;
            }
        }

        query["page"] = page.ToString(CultureInfo.InvariantCulture);
        return QueryHelpers.AddQueryString("/admin/audit", query);
    }
}
