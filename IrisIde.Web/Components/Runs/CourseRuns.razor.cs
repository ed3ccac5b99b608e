using IrisIde.Execution.Languages;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Runs;

/// <summary>
/// A course's runs for its teaching assistants, instructors and admins: filtered by student, language, verdict,
/// surface and dates, paged in the database (the <c>(Course, QueuedAtUtc)</c> index serves the order), exportable
/// as CSV with the same filters. Anyone else, the course's students too, gets the 404 of a course that does not exist.
/// </summary>
public sealed partial class CourseRuns
{
    private CourseView? _view;
    private RunListQuery _query = RunPages.DefaultQuery;
    private RunRowPage _page = RunPages.Empty;
    private IReadOnlyList<(string UserId, string Email)> _students = [];
    private string? _error;

    [Parameter]
    public Guid Id { get; set; }

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [Inject]
    private RunViewReader Reader { get; set; } = default!;

    [Inject]
    private LanguageCatalog Catalog { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    private string? LanguageFilter => Query("language");

    private string? Query(string name) => HttpContext.Request.Query[name].FirstOrDefault();

    protected override async Task OnInitializedAsync()
    {
        var aborted = HttpContext.RequestAborted;
        _view = await Reader.StaffViewAsync(HttpContext.User, Id, aborted);
        if (_view is null)
        {
            Navigation.NotFound();
            return;
        }

        _students = await Reader.StudentsAsync(Id, aborted);
        (_query, _error) = RunPages.Parse(HttpContext.Request.Query, Catalog);
        var runs = (_query with { Course = Id }).Apply(await Reader.VisibleAsync(HttpContext.User, aborted));
        _page = await Reader.PageAsync(runs, _query.Page, _query.PageSize, aborted);
    }
}
