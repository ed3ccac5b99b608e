using IrisIde.Tests.Accounts;
using IrisIde.Tests.Courses;
using IrisIde.Tests.History;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Persistence;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The run history's pages in Debian's chromium: a run made in the IDE is in My runs, opens on its page and goes
/// back into the editor; the course runs filters narrow the list; the replay keeps a run's timing at 1× and 2×.
/// Sandbox uids 65116-65131.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class RunPagesBrowserTests(IdeFixture ide)
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    private static readonly Dictionary<string, string?> Settings = new()
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
        ["Iris:Sandbox:Uid"] = "65116",
        ["Iris:Sandbox:UidCount"] = "16",
    };

    [Fact]
    public async Task A_run_made_in_the_ide_is_in_my_runs_opens_on_its_page_and_goes_back_into_the_editor()
    {
        await using var app = await IrisWebApp.StartAsync(Settings);
        var email = TestAccounts.NewEmail("my-runs");
        var user = await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        await using var context = await NewContextAsync(app);
        await (await SignedInPageAsync(context, email)).CloseAsync().WaitAsync(Timeout);
        const string source = "print('hello from the history')\n";
        var runId = await RunInIdeAsync(app, context, user.Id, source);

        var ideAgain = await IdePage.OpenAsync(context).WaitAsync(Timeout * 3);
        // The buffer changes after the run, so only "Open in editor" can bring the run's source back.
        await ideAgain.SelectLanguageAsync("python");
        await ideAgain.SetCodeAsync("print('something else')\n");
        await ideAgain.WaitUntilAsync(async () => await ideAgain.EvaluateAsync<string?>("() => localStorage.getItem('iris.buffer.python')") == "print('something else')\n", "the changed buffer saved");

        var page = ideAgain.Page;
        Problems(page);
        await page.GetByTestId("my-runs-link").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/runs").WaitAsync(Timeout);
        var row = page.GetByTestId("run-row");
        // The link may be followed by Blazor's enhanced navigation: the address changes before the page does.
        await row.First.WaitForAsync().WaitAsync(Timeout);
        Assert.Equal(1, await row.CountAsync().WaitAsync(Timeout));
        Assert.Equal(runId.ToString(), await row.GetAttributeAsync("data-id").WaitAsync(Timeout));
        Assert.Equal("ok", await row.GetByTestId("run-verdict").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal("ide", await row.GetByTestId("run-surface").TextContentAsync().WaitAsync(Timeout));

        await row.GetByTestId("open-run").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == $"/runs/{runId}").WaitAsync(Timeout);
        Assert.Equal(source, await page.GetByTestId("run-file-content").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal("main.py", await page.GetByTestId("run-file-name").TextContentAsync().WaitAsync(Timeout));
        await WaitForReplayAsync(page);
        await page.GetByTestId("replay-play").ClickAsync().WaitAsync(Timeout);
        await WaitForAsync(page, "() => document.querySelector('[data-testid=replay-terminal] .xterm-rows').textContent.includes('hello from the history')");

        var openInEditor = page.GetByTestId("open-in-editor");
        Assert.Equal($"/?fromRun={runId}", await openInEditor.GetAttributeAsync("href").WaitAsync(Timeout));
        await openInEditor.ClickAsync().WaitAsync(Timeout);
        // No wait for the "?fromRun=" address itself: the IDE replaces it as soon as the source is in, which on a
        // busy test host can happen before a wait for it starts. The editor holding the run's source (its saved
        // buffer was changed above) is the proof that the link was followed.
        await WaitForAsync(page, $"() => globalThis.monaco?.editor.getEditors()[0]?.getValue() === {System.Text.Json.JsonSerializer.Serialize(source)}");
        Assert.Equal("python", await page.GetByTestId("language-select").InputValueAsync().WaitAsync(Timeout));
        Assert.Contains("Opened main.py", await page.GetByTestId("restore-note").TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        // Restored once: the address no longer names the run, so a reload keeps what the student typed since.
        await page.WaitForURLAsync(url => new Uri(url).PathAndQuery == "/").WaitAsync(Timeout);
    }

    [Fact]
    public async Task The_course_runs_filters_narrow_the_list()
    {
        await using var app = await IrisWebApp.StartAsync(Settings);
        var (instructorUser, instructor) = await TestCourses.UserAsync(app, IrisRoles.Instructor, "filters-instructor");
        var course = await TestCourses.CreateAsync(app, instructor);
        var (ann, annActor) = await TestCourses.UserAsync(app, IrisRoles.Student, "ann");
        var (bob, bobActor) = await TestCourses.UserAsync(app, IrisRoles.Student, "bob");
        await TestCourses.JoinAsync(app, annActor, course);
        await TestCourses.JoinAsync(app, bobActor, course);
        var start = new DateTime(2026, 3, 1, 9, 0, 0, DateTimeKind.Utc);
        var runs = Enumerable.Range(0, 6).Select(i => new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Owner = i % 2 == 0 ? ann.Id : bob.Id,
            Course = course.Id.ToString(),
            Kind = RunKind.Interactive,
            Surface = RunSurfaces.Ide,
            Status = RunRecordStatus.Completed,
            Language = i < 4 ? "python" : "c",
            FilesJson = "[]",
            LimitsJson = "null",
            QueuedAtUtc = start.AddDays(i),
            FinishedAtUtc = start.AddDays(i).AddSeconds(1),
            Verdict = i == 2 ? "runtime_error" : "ok",
            ExitCode = i == 2 ? 1 : 0,
        }).ToList();
        await HistoryStore.WithDbAsync(app, db =>
        {
            db.Runs.AddRange(runs);
            return db.SaveChangesAsync();
        });

        await using var context = await NewContextAsync(app);
        var page = await SignedInPageAsync(context, instructorUser.Email!);
        await page.GotoAsync($"/courses/{course.Id}/runs").WaitAsync(Timeout);
        var rows = page.GetByTestId("run-row");
        Assert.Equal(6, await rows.CountAsync().WaitAsync(Timeout));

        await page.GetByTestId("filter-student").SelectOptionAsync(ann.Id).WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("user=", StringComparison.Ordinal)).WaitAsync(Timeout);
        Assert.Equal(Ids(runs, 4, 2, 0), await RowIdsAsync(rows));
        Assert.All(await rows.GetByTestId("run-owner").AllTextContentsAsync().WaitAsync(Timeout), owner => Assert.Equal(ann.Email, owner.Trim()));

        await page.GetByTestId("filter-language").SelectOptionAsync("python").WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("language=python", StringComparison.Ordinal)).WaitAsync(Timeout);
        Assert.Equal(Ids(runs, 2, 0), await RowIdsAsync(rows));

        await page.GetByTestId("filter-verdict").SelectOptionAsync("runtime_error").WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("verdict=runtime_error", StringComparison.Ordinal)).WaitAsync(Timeout);
        Assert.Equal(Ids(runs, 2), await RowIdsAsync(rows));

        // Dates instead: every student, from the 3rd to the 4th day.
        await page.GotoAsync($"/courses/{course.Id}/runs").WaitAsync(Timeout);
        await page.GetByTestId("filter-from").FillAsync("2026-03-03").WaitAsync(Timeout);
        await page.GetByTestId("filter-to").FillAsync("2026-03-04").WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("from=2026-03-03", StringComparison.Ordinal)).WaitAsync(Timeout);
        Assert.Equal(Ids(runs, 3, 2), await RowIdsAsync(rows));
    }

    [Fact]
    public async Task The_replay_keeps_the_runs_timing_at_1x_and_halves_it_at_2x()
    {
        await using var app = await IrisWebApp.StartAsync(Settings);
        var email = TestAccounts.NewEmail("replay");
        var user = await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        await using var context = await NewContextAsync(app);
        var page = await SignedInPageAsync(context, email);
        var runId = await RunInIdeAsync(app, context, user.Id, "import time\nprint('tick-one', flush=True)\ntime.sleep(1)\nprint('tick-two', flush=True)\n");

        var normal = await GapAsync(page, runId, "1");
        var doubled = await GapAsync(page, runId, "2");

        Assert.True(normal >= 700, $"at 1x the lines were {normal:0} ms apart");
        Assert.InRange(doubled / normal, 0.3, 0.75);
    }

    /// <summary>
    /// Plays the run's replay at the speed from its start, and measures in the page when each line appears in the
    /// replay terminal's rows: a MutationObserver records performance.now() the first time a row shows it.
    /// </summary>
    private static async Task<double> GapAsync(IPage page, Guid runId, string speed)
    {
        Problems(page);
        await page.GotoAsync($"/runs/{runId}").WaitAsync(Timeout);
        await WaitForReplayAsync(page);
        await page.GetByTestId("replay-speed").SelectOptionAsync(speed).WaitAsync(Timeout);
        await page.EvaluateAsync("""
            () => {
                const rows = document.querySelector('[data-testid=replay-terminal] .xterm-rows');
                const marks = globalThis.__replayMarks = {};
                const look = () => {
                    const now = performance.now();
                    for (const row of rows.children) {
                        for (const word of ['tick-one', 'tick-two']) {
                            if (marks[word] === undefined && row.textContent.includes(word)) {
                                marks[word] = now;
                            }
                        }
                    }
                };
                new MutationObserver(look).observe(rows, { childList: true, subtree: true, characterData: true });
            }
            """).WaitAsync(Timeout);
        await page.GetByTestId("replay-play").ClickAsync().WaitAsync(Timeout);
        await WaitForAsync(page, "() => globalThis.__replayMarks['tick-two'] !== undefined");
        var marks = await page.EvaluateAsync<double[]>("() => [globalThis.__replayMarks['tick-one'], globalThis.__replayMarks['tick-two']]").WaitAsync(Timeout);
        return marks[1] - marks[0];
    }

    /// <summary>Waits until the player has its terminal and its transcript (Play is enabled then).</summary>
    private static Task WaitForReplayAsync(IPage page) =>
        WaitForAsync(page, "() => { const b = document.querySelector('[data-testid=replay-play]'); return b && !b.disabled && !!document.querySelector('[data-testid=replay-terminal] .xterm-rows'); }");

    /// <summary>Runs the program in the IDE and waits until the history stored it with its end; its id.</summary>
    private static async Task<Guid> RunInIdeAsync(IrisWebApp app, IBrowserContext context, string userId, string source)
    {
        var idePage = await IdePage.OpenAsync(context).WaitAsync(Timeout * 3);
        await idePage.RunAsync("python", source);
        Assert.StartsWith("Exited with code 0", await idePage.WaitForExitAsync(), StringComparison.Ordinal);
        var record = await HistoryStore.EndedAsync(app, r => r.Owner == userId && r.Surface == RunSurfaces.Ide);
        await idePage.Page.CloseAsync().WaitAsync(Timeout);
        return record.Id;
    }

    private static string[] Ids(List<RunRecord> runs, params int[] which) => [.. which.Select(i => runs[i].Id.ToString())];

    private static async Task<string[]> RowIdsAsync(ILocator rows)
    {
        var ids = new List<string>();
        foreach (var row in await rows.AllAsync().WaitAsync(Timeout))
        {
            ids.Add(await row.GetAttributeAsync("data-id").WaitAsync(Timeout) ?? "");
        }

        return [.. ids];
    }

    /// <summary>Waits until the predicate holds in the page; on a timeout, fails with what the page and the replay showed.</summary>
    private static async Task WaitForAsync(IPage page, string predicate)
    {
        try
        {
            await page.WaitForFunctionAsync(predicate, null, new PageWaitForFunctionOptions { Timeout = (float)Timeout.TotalMilliseconds }).WaitAsync(Timeout + Timeout);
        }
        catch (Exception e) when (e is TimeoutException or PlaywrightException)
        {
            var state = await page.EvaluateAsync<string>("""
                () => JSON.stringify({
                    url: location.href,
                    play: document.querySelector('[data-testid=replay-play]')?.outerHTML,
                    note: document.querySelector('[data-testid=replay-note]')?.textContent,
                    rows: !!document.querySelector('[data-testid=replay-terminal] .xterm-rows'),
                    terminal: document.querySelector('[data-testid=replay-terminal] .xterm-rows')?.textContent,
                })
                """).WaitAsync(Timeout);
            throw new TimeoutException($"waited in vain for {predicate}; the page: {state}; problems: {string.Join(" | ", Problems(page))}", e);
        }
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<IPage, List<string>> PageProblems = [];

    private static List<string> Problems(IPage page) => PageProblems.GetValue(page, p =>
    {
        var problems = new List<string>();
        p.Console += (_, message) =>
        {
            if (message.Type is "error" or "warning")
            {
                problems.Add("console: " + message.Text);
            }
        };
        p.PageError += (_, error) => problems.Add("page error: " + error);
        p.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                problems.Add($"HTTP {response.Status}: {response.Url}");
            }
        };
        return problems;
    });

    private async Task<IBrowserContext> NewContextAsync(IrisWebApp app)
    {
        var context = await ide.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.BaseAddress.ToString(),
            ViewportSize = IdeFixture.Viewport,
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(Timeout);
        context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        return context;
    }

    private static async Task<IPage> SignedInPageAsync(IBrowserContext context, string email)
    {
        var page = await context.NewPageAsync().WaitAsync(Timeout);
        await page.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
        await page.GetByTestId("email").FillAsync(email).WaitAsync(Timeout);
        await page.GetByTestId("password").FillAsync(TestAccounts.Password).WaitAsync(Timeout);
        await page.GetByTestId("submit").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
        return page;
    }
}
