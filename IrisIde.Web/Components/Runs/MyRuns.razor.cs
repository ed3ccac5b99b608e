using IrisIde.Execution.Languages;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Runs;

/// <summary>
/// The signed-in user's own runs, newest first, filtered by course, language, verdict and surface and paged in the
/// database. The filters are parsed as <c>GET /api/v1/runs</c> parses them, so a bad value reads the same here.
/// Only the owner's runs, whatever else they may see as course staff: those are on the course runs page.
/// </summary>
public sealed partial class MyRuns
{
    private RunListQuery _query = RunPages.DefaultQuery;
    private RunRowPage _page = RunPages.Empty;
    private IReadOnlyList<Course> _courses = [];
    private string? _error;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [Inject]
    private RunViewReader Reader { get; set; } = default!;

    [Inject]
    private CourseService Courses { get; set; } = default!;

    [Inject]
    private LanguageCatalog Catalog { get; set; } = default!;

    private string? LanguageFilter => HttpContext.Request.Query["language"].FirstOrDefault();

    protected override async Task OnInitializedAsync()
    {
        var aborted = HttpContext.RequestAborted;
        if (CourseActor.Of(HttpContext.User) is not { } actor)
        {
            return;
        }

        _courses = [.. (await Courses.ListMineAsync(actor, aborted)).Select(v => v.Course)];
        (_query, _error) = RunPages.Parse(HttpContext.Request.Query, Catalog);
        var mine = (_query with { User = actor.UserId }).Apply(await Reader.VisibleAsync(HttpContext.User, aborted));
        _page = await Reader.PageAsync(mine, _query.Page, _query.PageSize, aborted);
    }
}
