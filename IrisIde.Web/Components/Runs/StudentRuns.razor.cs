using System.Globalization;
using IrisIde.Web.Courses;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Runs;

/// <summary>
/// One student's runs in a course for its staff: how many per day, the verdict mix, and the runs themselves.
/// Authorized as the course runs page; a user who is not in the course (or a guessed id) is not found either.
/// </summary>
public sealed partial class StudentRuns
{
    private CourseView? _view;
    private StudentRunSummary? _summary;
    private RunRowPage _page = RunPages.Empty;
    private string? _email;

    [Parameter]
    public Guid Id { get; set; }

    [Parameter]
    public string UserId { get; set; } = "";

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [Inject]
    private RunViewReader Reader { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [SupplyParameterFromQuery(Name = "page")]
    private int? PageNumber { get; set; }

    protected override async Task OnInitializedAsync()
    {
        var aborted = HttpContext.RequestAborted;
        _view = await Reader.StaffViewAsync(HttpContext.User, Id, aborted);
        _email = _view is null ? null : await Reader.MemberEmailAsync(Id, UserId, aborted);
        if (_view is null || _email is null)
        {
            _view = null;
            Navigation.NotFound();
            return;
        }

        _summary = await Reader.StudentSummaryAsync(Id, UserId, aborted);
        var query = RunPages.DefaultQuery with { Course = Id, User = UserId, Page = Math.Clamp(PageNumber ?? 1, 1, 100_000) };
        var runs = query.Apply(await Reader.VisibleAsync(HttpContext.User, aborted));
        _page = await Reader.PageAsync(runs, query.Page, query.PageSize, aborted);
    }

    private string Percent(int count) => Share(count, _summary?.Verdicts.Sum(v => v.Count) ?? 0);

    private string DayPercent(int count) => Share(count, _summary?.Days.Max(d => d.Count) ?? 0);

    private static string Share(int count, int of) =>
        (of == 0 ? 0 : 100.0 * count / of).ToString("0", CultureInfo.InvariantCulture);
}
