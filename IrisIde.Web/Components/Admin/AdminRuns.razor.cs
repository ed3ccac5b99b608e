using IrisIde.Execution.Languages;
using IrisIde.Web.Components.Runs;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Components.Admin;

/// <summary>
/// Every run for admins, or one user's (<c>?user=</c>, an email or a user id: the dashboard's and the run lists'
/// links pass the id), filtered as <c>GET /api/v1/runs</c> filters and paged in the database. A user nobody has
/// is said so, with no runs listed, rather than silently showing everyone's.
/// </summary>
public sealed partial class AdminRuns
{
    private RunListQuery _query = RunPages.DefaultQuery;
    private RunRowPage _page = RunPages.Empty;
    private (string Id, string Email)? _owner;
    private string? _error;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [Inject]
    private RunViewReader Reader { get; set; } = default!;

    [Inject]
    private IrisDbContext Db { get; set; } = default!;

    [Inject]
    private LanguageCatalog Catalog { get; set; } = default!;

    private string? LanguageFilter => HttpContext.Request.Query["language"].FirstOrDefault();

    private string? UserFilter => HttpContext.Request.Query["user"].FirstOrDefault();

    /// <summary>The admin runs page of one user.</summary>
    public static string For(string userId) => $"/admin/runs?user={Uri.EscapeDataString(userId)}";

    protected override async Task OnInitializedAsync()
    {
        var aborted = HttpContext.RequestAborted;
        (_query, _error) = RunPages.Parse(HttpContext.Request.Query, Catalog);
        if (_query.User is { } wanted)
        {
            var normalized = wanted.ToUpperInvariant();
            var user = await Db.Users.AsNoTracking()
                .Where(u => u.Id == wanted || u.NormalizedEmail == normalized)
                .Select(u => new { u.Id, u.Email })
                .FirstOrDefaultAsync(aborted);
            if (user is null)
            {
                _error = $"No user '{wanted}'.";
                return;
            }

            _owner = (user.Id, user.Email ?? user.Id);
            _query = _query with { User = user.Id };
        }

        var runs = _query.Apply(await Reader.VisibleAsync(HttpContext.User, aborted));
        _page = await Reader.PageAsync(runs, _query.Page, _query.PageSize, aborted);
    }
}
