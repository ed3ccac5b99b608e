using IrisIde.Tests.Accounts;
using IrisIde.Tests.Courses;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// Live watch in Debian's chromium: a student runs a program in the IDE, the course's instructor finds it on
/// "Live runs", watches it read-only as the student types, and the student's terminal says someone is watching
/// until the instructor leaves.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class LiveWatchBrowserTests(IdeFixture ide)
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task An_instructor_watches_a_students_run_live_and_the_student_sees_it()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            // Sandbox uids of its own (the live-watch hub tests use 64740-64755).
            ["Iris:Sandbox:Uid"] = "64756",
            ["Iris:Sandbox:UidCount"] = "8",
        });
        var instructorEmail = TestAccounts.NewEmail("watching-instructor");
        var studentEmail = TestAccounts.NewEmail("watched-student");
        var instructorUser = await TestAccounts.AddAsync(app, instructorEmail, IrisRoles.Instructor);
        var studentUser = await TestAccounts.AddAsync(app, studentEmail, IrisRoles.Student);
        var course = await TestCourses.CreateAsync(app, new CourseActor(instructorUser.Id, false, true, instructorEmail));
        await TestCourses.JoinAsync(app, new CourseActor(studentUser.Id, false, false, studentEmail), course);

        await using var studentContext = await ide.NewContextAsync(app);
        await SignInForm.SignedInPageAsync(studentContext, studentEmail);
        var student = await IdePage.OpenAsync(studentContext).WaitAsync(Timeout * 3);
        await student.SelectLanguageAsync("python");
        await student.Page.GetByTestId("course-select").SelectOptionAsync(course.Id.ToString()).WaitAsync(Timeout);
        await student.RunAsync("python", "print('What is your name?', flush=True)\nname = input()\nprint('Hello, ' + name + '!', flush=True)\n");
        await student.WaitForTerminalTextAsync("What is your name?");
        var badge = student.Page.GetByTestId("watching");
        Assert.False(await badge.IsVisibleAsync().WaitAsync(Timeout));

        await using var instructorContext = await ide.NewContextAsync(app);
        var instructor = await SignInForm.SignedInPageAsync(instructorContext, instructorEmail);
        await instructor.GotoAsync("/live").WaitAsync(Timeout);
        var row = instructor.GetByTestId("live-run");
        await row.WaitForAsync().WaitAsync(Timeout);
        Assert.Contains(studentEmail, await row.TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        Assert.Contains("CS101", await row.TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        await row.GetByTestId("watch-link").ClickAsync().WaitAsync(Timeout);
        await WaitForTextAsync(instructor, "What is your name?");
        Assert.Equal("Watching live.", (await instructor.GetByTestId("live-status").TextContentAsync().WaitAsync(Timeout))?.Trim());
        // Ending a session is for admins only: not even the course's instructor gets the button.
        Assert.Equal(0, await instructor.GetByTestId("end-session").CountAsync().WaitAsync(Timeout));

        await badge.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Visible }).WaitAsync(Timeout);
        Assert.Equal("Someone from your course staff is watching this run", await badge.TextContentAsync().WaitAsync(Timeout));

        await student.TypeInTerminalAsync("Ada\r");
        await student.WaitForTerminalTextAsync("Hello, Ada!");
        await WaitForTextAsync(instructor, "Ada");
        await WaitForTextAsync(instructor, "Hello, Ada!");
        await WaitForTextAsync(instructor, "the run is over");
        Assert.Equal("The run is over.", (await instructor.GetByTestId("live-status").TextContentAsync().WaitAsync(Timeout))?.Trim());
        await badge.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Hidden }).WaitAsync(Timeout);

        // Gone from the list once over; a student opening the watch page of a run gets the not-watchable page.
        await instructor.GotoAsync("/live").WaitAsync(Timeout);
        await instructor.GetByTestId("no-live-runs").WaitForAsync().WaitAsync(Timeout);
        await student.Page.GotoAsync($"/live/{Guid.NewGuid()}").WaitAsync(Timeout);
        await student.Page.GetByTestId("not-watchable").WaitForAsync().WaitAsync(Timeout);

        // An admin ends the student's next run from its watch page; the student's IDE says who ended it.
        var adminEmail = TestAccounts.NewEmail("ending-admin");
        await TestAccounts.AddAsync(app, adminEmail, IrisRoles.Admin);
        var again = await IdePage.OpenAsync(studentContext).WaitAsync(Timeout * 3);
        await again.RunAsync("python", "print('looping', flush=True)\nwhile True:\n    input()\n");
        await again.WaitForTerminalTextAsync("looping");
        await using var adminContext = await ide.NewContextAsync(app);
        var admin = await SignInForm.SignedInPageAsync(adminContext, adminEmail);
        await admin.GotoAsync("/live").WaitAsync(Timeout);
        await admin.GetByTestId("live-run").GetByTestId("watch-link").ClickAsync().WaitAsync(Timeout);
        await WaitForTextAsync(admin, "looping");
        await admin.GetByTestId("end-session").ClickAsync().WaitAsync(Timeout);
        await admin.GetByTestId("end-result").WaitForAsync().WaitAsync(Timeout);
        Assert.Equal("The session was ended.", (await admin.GetByTestId("end-result").TextContentAsync().WaitAsync(Timeout))?.Trim());
        Assert.Contains($"ended by an admin ({adminEmail})", await again.WaitForExitAsync(), StringComparison.Ordinal);
        await WaitForTextAsync(admin, "the run is over");
    }

    private static async Task WaitForTextAsync(IPage page, string text)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            var shown = await page.EvaluateAsync<string>(
                "() => (document.querySelector('[data-testid=live-terminal] .xterm-rows')?.innerText ?? '').replaceAll('\\u00a0', ' ')").WaitAsync(Timeout);
            if (shown.Contains(text, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the live terminal did not show \"{text}\" within {Timeout.TotalSeconds:0} s");
    }
}
