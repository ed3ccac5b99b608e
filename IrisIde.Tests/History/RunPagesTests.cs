using System.Globalization;
using System.Net;
using System.Security.Claims;
using System.Text.RegularExpressions;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Courses;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using IrisIde.Web.RunViews;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.History;

/// <summary>The run pages' app: sign-in required, no runs started by these tests (their runs are stored directly).</summary>
public sealed class RunPagesAppFixture : IrisWebAppFixture
{
    public static readonly IReadOnlyDictionary<string, string?> RunPagesSettings = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
        ["Iris:Sandbox:Uid"] = "65100",
        ["Iris:Sandbox:UidCount"] = "8",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => RunPagesSettings;
}

/// <summary>The same app on a fresh PostgreSQL database of its own.</summary>
public sealed class PostgresRunPagesAppFixture : IAsyncLifetime
{
    private TestPostgresDatabase? _database;
    private IrisWebApp? _app;

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    public async Task InitializeAsync()
    {
        _database = await TestPostgresDatabase.CreateAsync().WaitAsync(TimeSpan.FromSeconds(120));
        _app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(RunPagesAppFixture.RunPagesSettings)
        {
            ["ConnectionStrings:Postgres"] = _database.ConnectionString,
            ["Iris:Sandbox:Uid"] = "65108",
        });
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

public sealed class RunPagesTests(RunPagesAppFixture fixture) : RunPagesTestsBase, IClassFixture<RunPagesAppFixture>
{
    protected override IrisWebApp App => fixture.App;

    /// <summary>
    /// A course with 100,000 runs stays fast only if its page is read from the course index instead of a scan of
    /// every run, and a deep page or a filter skips index entries rather than rows: SQLite's plan for a page's ids
    /// (as an admin, the widest visibility), filtered by language and verdict too, must use the course index alone
    /// (a covering index); a student's runs in it use the course's or the owner's index.
    /// </summary>
    [Fact]
    public async Task The_course_runs_page_is_read_through_an_index_not_a_scan_of_every_run()
    {
        await using var scope = App.Services.CreateAsyncScope();
        var reader = scope.ServiceProvider.GetRequiredService<RunViewReader>();
        var admin = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, "admin"), new Claim(ClaimTypes.Role, IrisRoles.Admin)], "test"));
        var visible = await reader.VisibleAsync(admin, CancellationToken.None);
        var course = Guid.CreateVersion7();
        var query = new IrisIde.Web.History.RunListQuery(3, 20, course, null, null, null, null, null, null);

        var coursePlan = await PlanAsync(IrisIde.Web.History.RunPaging.PageIds(query.Apply(visible), 2500, 20));
        var filteredPlan = await PlanAsync(IrisIde.Web.History.RunPaging.PageIds((query with { Languages = ["java"], Verdict = "ok" }).Apply(visible), 3, 20));
        var studentPlan = await PlanAsync(IrisIde.Web.History.RunPaging.PageIds((query with { User = "someone" }).Apply(visible), 1, 20));

        Assert.Contains("USING COVERING INDEX IX_runs_Course_QueuedAtUtc", coursePlan, StringComparison.Ordinal);
        Assert.Contains("USING COVERING INDEX IX_runs_Course_QueuedAtUtc", filteredPlan, StringComparison.Ordinal);
        Assert.Matches("USING (COVERING )?INDEX IX_runs_(Course|Owner)_QueuedAtUtc", studentPlan);
        Assert.DoesNotContain("SCAN runs", coursePlan + filteredPlan + studentPlan, StringComparison.Ordinal);
    }

    private static async Task<string> PlanAsync<T>(IQueryable<T> query)
    {
        await using var command = query.CreateDbCommand();
        await command.Connection!.OpenAsync();
        try
        {
            return await SqliteQueryPlan.ExplainAsync(command);
        }
        finally
        {
            await command.Connection.CloseAsync();
        }
    }
}

[Trait("Needs", "PostgreSQL")]
public sealed class PostgresRunPagesTests(PostgresRunPagesAppFixture fixture) : RunPagesTestsBase, IClassFixture<PostgresRunPagesAppFixture>
{
    protected override IrisWebApp App => fixture.App;
}

/// <summary>
/// The run history's pages and CSV export over HTTP, on each database: who sees which runs (students their own,
/// course staff their course's, another course's instructor nothing, admins all, guessed ids not found), and
/// that the filters and paging narrow the list in the database.
/// </summary>
public abstract partial class RunPagesTestsBase
{
    protected abstract IrisWebApp App { get; }

    [Fact]
    public async Task My_runs_lists_only_the_users_own_runs_newest_first_filtered_and_paged()
    {
        using var s = await ScenarioAsync();

        var (status, html) = await s.StudentA.Browser.GetAsync("/runs");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([s.FormulaRun, s.CompileErrorRun, s.CourseRun], RunIds(html));
        Assert.Contains("CS101", html, StringComparison.Ordinal);

        Assert.Equal([s.CompileErrorRun], RunIds((await s.StudentA.Browser.GetAsync("/runs?language=c")).Html));
        Assert.Equal([s.CourseRun], RunIds((await s.StudentA.Browser.GetAsync("/runs?verdict=ok")).Html));
        Assert.Equal([s.FormulaRun, s.CompileErrorRun], RunIds((await s.StudentA.Browser.GetAsync("/runs?surface=batch")).Html));
        Assert.Equal([s.FormulaRun, s.CourseRun], RunIds((await s.StudentA.Browser.GetAsync($"/runs?course={s.Course.Id}")).Html));

        var first = (await s.StudentA.Browser.GetAsync("/runs?pageSize=2")).Html;
        Assert.Equal([s.FormulaRun, s.CompileErrorRun], RunIds(first));
        Assert.Contains("/runs?pageSize=2&amp;page=2", first, StringComparison.Ordinal);
        Assert.Equal([s.CourseRun], RunIds((await s.StudentA.Browser.GetAsync("/runs?pageSize=2&page=2")).Html));

        var bad = (await s.StudentA.Browser.GetAsync("/runs?verdict=nonsense")).Html;
        Assert.Contains("'verdict' must be one of", WebUtility.HtmlDecode(bad), StringComparison.Ordinal);

        // Course staff see only their own runs here (their course's are on the course page); B sees only B's.
        Assert.Empty(RunIds((await s.Instructor.Browser.GetAsync("/runs")).Html));
        Assert.Equal([s.StudentBRun], RunIds((await s.StudentB.Browser.GetAsync("/runs")).Html));
    }

    [Fact]
    public async Task A_run_page_shows_its_files_and_result_to_whoever_may_see_it_and_not_found_to_everyone_else()
    {
        using var s = await ScenarioAsync();
        var path = $"/runs/{s.CourseRun}";

        var (status, html) = await s.StudentA.Browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, status);
        html = WebUtility.HtmlDecode(html);
        Assert.Contains("print('hello from A')", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"/?fromRun={s.CourseRun}\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"replay\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"run-owner\"", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"run-limits\">1800 s wall, 2.5 s CPU, 512.0 MiB memory, 1.0 MiB output<", html, StringComparison.Ordinal);

        foreach (var staff in new[] { s.Instructor, s.Ta, s.Admin })
        {
            var (staffStatus, staffHtml) = await staff.Browser.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, staffStatus);
            Assert.Contains(s.StudentA.Email, staffHtml, StringComparison.Ordinal);
        }

        foreach (var stranger in new[] { s.StudentB, s.OtherInstructor })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await stranger.Browser.GetAsync(path)).Status);
        }

        // A's run outside the course: not for the course's staff either.
        Assert.Equal(HttpStatusCode.NotFound, (await s.Instructor.Browser.GetAsync($"/runs/{s.CompileErrorRun}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await s.Admin.Browser.GetAsync($"/runs/{s.CompileErrorRun}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await s.StudentA.Browser.GetAsync($"/runs/{Guid.CreateVersion7()}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await s.StudentA.Browser.GetAsync("/runs/not-a-guid")).Status);

        using var anonymous = new AccountTestClient(App.BaseAddress);
        using var response = await anonymous.Http.GetAsync(path).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(AccountsExtensions.SignInPath, anonymous.Target(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Course_runs_are_for_the_courses_staff_and_admins_and_their_filters_narrow_the_list()
    {
        using var s = await ScenarioAsync();
        var path = $"/courses/{s.Course.Id}/runs";

        foreach (var staff in new[] { s.Instructor, s.Ta, s.Admin })
        {
            var (status, html) = await staff.Browser.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal([s.StudentBRun, s.FormulaRun, s.CourseRun], RunIds(html));
        }

        foreach (var refused in new[] { s.StudentA, s.StudentB, s.OtherInstructor })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await refused.Browser.GetAsync(path)).Status);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await s.Admin.Browser.GetAsync($"/courses/{Guid.CreateVersion7()}/runs")).Status);

        var i = s.Instructor.Browser;
        Assert.Equal([s.FormulaRun, s.CourseRun], RunIds((await i.GetAsync($"{path}?user={s.StudentA.Id}")).Html));
        Assert.Equal([s.StudentBRun, s.CourseRun], RunIds((await i.GetAsync($"{path}?verdict=ok")).Html));
        Assert.Equal([s.StudentBRun], RunIds((await i.GetAsync($"{path}?surface=ws")).Html));
        Assert.Equal([s.StudentBRun, s.CourseRun], RunIds((await i.GetAsync($"{path}?language=python")).Html));
        Assert.Equal([s.CourseRun], RunIds((await i.GetAsync($"{path}?from=2026-01-01&to=2026-01-01")).Html));
        Assert.Equal([s.FormulaRun], RunIds((await i.GetAsync($"{path}?from=2026-01-02T00:00:00Z&to=2026-01-02")).Html));
        Assert.Equal([s.CourseRun], RunIds((await i.GetAsync($"{path}?pageSize=1&page=3")).Html));
        // A course filter in the address cannot widen the page to another course.
        Assert.Equal([s.StudentBRun, s.FormulaRun, s.CourseRun], RunIds((await s.Admin.Browser.GetAsync($"{path}?course={Guid.CreateVersion7()}")).Html));
    }

    [Fact]
    public async Task The_csv_export_has_the_filtered_runs_for_staff_only_with_formulas_defused()
    {
        using var s = await ScenarioAsync();
        var path = RunViewsExtensions.CsvPath(s.Course.Id);

        using var response = await s.Ta.Browser.Http.GetAsync(path).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("CS101-runs.csv", response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName);
        var lines = (await response.Content.ReadAsStringAsync().WaitAsync(AccountTestClient.Timeout)).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(RunCsv.Header, lines[0]);
        Assert.Equal([s.StudentBRun, s.FormulaRun, s.CourseRun], lines.Skip(1).Select(l => Guid.Parse(l.Split(',')[0])).ToArray());
        var formula = lines.Single(l => l.StartsWith(s.FormulaRun.ToString(), StringComparison.Ordinal)).Split(',');
        Assert.Equal("\"'=HYPERLINK(\"\"http://evil.example\"\")\"", formula[4]);
        Assert.Equal(s.StudentA.Email, formula[2]);
        Assert.Equal("2026-01-02T10:00:00Z", formula[1]);

        // The page's filters apply to the export.
        var filtered = await s.Instructor.Browser.GetAsync($"{path}?verdict=ok&user={s.StudentB.Id}");
        Assert.Equal(2, filtered.Html.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(s.StudentBRun.ToString(), filtered.Html, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await s.Admin.Browser.GetAsync(path)).Status);
        foreach (var refused in new[] { s.StudentA, s.StudentB, s.OtherInstructor })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await refused.Browser.GetAsync(path)).Status);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await s.Admin.Browser.GetAsync(RunViewsExtensions.CsvPath(Guid.CreateVersion7()))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await s.Instructor.Browser.GetAsync($"{path}?verdict=nonsense")).Status);
    }

    [Fact]
    public async Task A_students_page_shows_their_runs_in_the_course_by_verdict_and_day_to_staff_only()
    {
        using var s = await ScenarioAsync();
        var path = $"/courses/{s.Course.Id}/students/{s.StudentA.Id}";

        var (status, html) = await s.Ta.Browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([s.FormulaRun, s.CourseRun], RunIds(html));
        Assert.Matches("data-verdict=\"ok\">[^<]*<span[^>]*></span> ok: <strong>1</strong>", html);
        Assert.Matches("data-verdict=\"runtime_error\">[^<]*<span[^>]*></span> runtime_error: <strong>1</strong>", html);
        Assert.Contains("data-day=\"2026-01-01\"", html, StringComparison.Ordinal);
        Assert.Contains("data-day=\"2026-01-02\"", html, StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.OK, (await s.Admin.Browser.GetAsync(path)).Status);
        foreach (var refused in new[] { s.StudentA, s.StudentB, s.OtherInstructor })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await refused.Browser.GetAsync(path)).Status);
        }

        // Someone who is not in the course, and an id nobody has.
        Assert.Equal(HttpStatusCode.NotFound, (await s.Instructor.Browser.GetAsync($"/courses/{s.Course.Id}/students/{s.OtherInstructor.Id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await s.Instructor.Browser.GetAsync($"/courses/{s.Course.Id}/students/{Guid.NewGuid()}")).Status);
    }

    /// <summary>
    /// Admins' "All runs" page narrowed to one user (the dashboard's and the users page's links pass the id; an
    /// email works too): that user's runs only, across courses, with the other filters; a user nobody has is said
    /// so and lists nothing rather than everyone's runs; nobody but admins reads the page.
    /// </summary>
    [Fact]
    public async Task An_admin_reads_one_users_runs_by_id_or_email_and_nobody_else_reads_them_there()
    {
        using var s = await ScenarioAsync();

        var (status, byId) = await s.Admin.Browser.GetAsync($"/admin/runs?user={s.StudentA.Id}");
        var byEmail = (await s.Admin.Browser.GetAsync($"/admin/runs?user={Uri.EscapeDataString(s.StudentA.Email.ToUpperInvariant())}")).Html;
        var filtered = (await s.Admin.Browser.GetAsync($"/admin/runs?user={s.StudentA.Id}&language=c")).Html;
        var unknown = (await s.Admin.Browser.GetAsync("/admin/runs?user=nobody%40example.invalid")).Html;
        var everyone = (await s.Admin.Browser.GetAsync("/admin/runs?pageSize=100")).Html;

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal([s.FormulaRun, s.CompileErrorRun, s.CourseRun], RunIds(byId));
        Assert.Contains($"Runs of {s.StudentA.Email}", WebUtility.HtmlDecode(byId), StringComparison.Ordinal);
        Assert.Equal([s.FormulaRun, s.CompileErrorRun, s.CourseRun], RunIds(byEmail));
        Assert.Equal([s.CompileErrorRun], RunIds(filtered));
        Assert.Empty(RunIds(unknown));
        Assert.Contains("No user 'nobody@example.invalid'.", WebUtility.HtmlDecode(unknown), StringComparison.Ordinal);
        Assert.Contains(s.StudentBRun, RunIds(everyone));
        Assert.Contains($"href=\"/admin/runs?user={s.StudentB.Id}\"", everyone, StringComparison.Ordinal);
        foreach (var refused in new[] { s.StudentA, s.Instructor, s.Ta })
        {
            var (refusedStatus, refusedHtml) = await refused.Browser.GetAsync($"/admin/runs?user={s.StudentA.Id}");
            Assert.DoesNotContain(s.CourseRun, RunIds(refusedHtml));
            Assert.NotEqual(HttpStatusCode.OK, refusedStatus);
        }
    }

    [Theory]
    [InlineData("=1+1", "'=1+1")]
    [InlineData("+1", "'+1")]
    [InlineData("-1", "'-1")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("a,b", "\"a,b\"")]
    [InlineData("say \"hi\"", "\"say \"\"hi\"\"\"")]
    [InlineData("=a,\"b\"", "\"'=a,\"\"b\"\"\"")]
    [InlineData("plain", "plain")]
    [InlineData("", "")]
    public void A_csv_cell_is_quoted_when_needed_and_never_starts_a_formula(string value, string expected) =>
        Assert.Equal(expected, RunCsv.Cell(value));

    private static Guid[] RunIds(string html) =>
        [.. RunRow().Matches(html).Select(m => Guid.Parse(m.Groups[1].Value))];

    [GeneratedRegex("data-testid=\"run-row\" data-id=\"([0-9a-f-]{36})\"")]
    private static partial Regex RunRow();

    /// <summary>
    /// A course (CS101) with its instructor, a TA, students A and B; another course's instructor; an admin. Student A
    /// ran a Python program in the course (ok, IDE, 2026-01-01), a C program outside it (compile error, batch), and
    /// a batch run in the course whose language is a spreadsheet formula (runtime error, 2026-01-02); B one run in the
    /// course over /ws (ok, latest).
    /// </summary>
    private async Task<Scenario> ScenarioAsync()
    {
        var s = new Scenario
        {
            Instructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "instructor"),
            Ta = await HistoryUser.CreateAsync(App, IrisRoles.Student, "ta"),
            StudentA = await HistoryUser.CreateAsync(App, IrisRoles.Student, "student-a"),
            StudentB = await HistoryUser.CreateAsync(App, IrisRoles.Student, "student-b"),
            OtherInstructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "other"),
            Admin = await HistoryUser.CreateAsync(App, IrisRoles.Admin, "admin"),
        };
        var instructor = s.Instructor.Actor with { IsGlobalInstructor = true };
        s.Course = await TestCourses.CreateAsync(App, instructor);
        await TestCourses.CreateAsync(App, s.OtherInstructor.Actor with { IsGlobalInstructor = true }, "Another course");
        foreach (var member in new[] { s.Ta, s.StudentA, s.StudentB })
        {
            await TestCourses.JoinAsync(App, member.Actor, s.Course);
        }

        var promoted = await TestCourses.WithServiceAsync(App, c => c.SetRoleAsync(instructor, s.Course.Id, s.Ta.Id, CourseRole.TeachingAssistant, CancellationToken.None));
        Assert.True(promoted.Succeeded, promoted.Error);

        var course = s.Course.Id.ToString();
        RunRecord Run(HistoryUser owner, string? inCourse, string language, string surface, string verdict, string at, string files) => new()
        {
            Id = Guid.CreateVersion7(),
            Owner = owner.Id,
            Course = inCourse,
            Kind = surface == RunSurfaces.Batch ? RunKind.Batch : RunKind.Interactive,
            Surface = surface,
            Status = RunRecordStatus.Completed,
            Language = language,
            FilesJson = files,
            LimitsJson = "null",
            QueuedAtUtc = DateTime.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            StartedAtUtc = DateTime.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
            FinishedAtUtc = DateTime.Parse(at, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal).AddSeconds(1),
            Verdict = verdict,
            ExitCode = verdict == "ok" ? 0 : 1,
            WallMs = 1234,
        };
        var runs = new[]
        {
            Run(s.StudentA, course, "python", RunSurfaces.Ide, "ok", "2026-01-01T09:00:00Z", """[{"name":"main.py","content":"print('hello from A')\n"}]"""),
            Run(s.StudentA, null, "c", RunSurfaces.Batch, "compile_error", "2026-01-01T12:00:00Z", """[{"name":"main.c","content":"int main( {"}]"""),
            Run(s.StudentA, course, "=HYPERLINK(\"http://evil.example\")", RunSurfaces.Batch, "runtime_error", "2026-01-02T10:00:00Z", "[]"),
            Run(s.StudentB, course, "python", RunSurfaces.WebSocket, "ok", "2026-01-03T08:00:00Z", """[{"name":"main.py","content":"print('B')\n"}]"""),
        };
        runs[0].LimitsJson = """{"wallSeconds":1800,"cpuSeconds":2.5,"memoryBytes":536870912,"outputBytes":1048576}""";
        await HistoryStore.WithDbAsync(App, db =>
        {
            db.Runs.AddRange(runs);
            return db.SaveChangesAsync();
        });
        (s.CourseRun, s.CompileErrorRun, s.FormulaRun, s.StudentBRun) = (runs[0].Id, runs[1].Id, runs[2].Id, runs[3].Id);
        return s;
    }

    private sealed class Scenario : IDisposable
    {
        public required HistoryUser Instructor { get; init; }

        public required HistoryUser Ta { get; init; }

        public required HistoryUser StudentA { get; init; }

        public required HistoryUser StudentB { get; init; }

        public required HistoryUser OtherInstructor { get; init; }

        public required HistoryUser Admin { get; init; }

        public Course Course { get; set; } = default!;

        public Guid CourseRun { get; set; }

        public Guid CompileErrorRun { get; set; }

        public Guid FormulaRun { get; set; }

        public Guid StudentBRun { get; set; }

        public void Dispose()
        {
            foreach (var user in new[] { Instructor, Ta, StudentA, StudentB, OtherInstructor, Admin })
            {
                user.Dispose();
            }
        }
    }
}
