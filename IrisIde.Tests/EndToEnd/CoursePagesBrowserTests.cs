using System.Globalization;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Courses;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// Courses in Debian's chromium: an instructor creates a course on the page and reads its join code, a student
/// joins with it, picks the course in the IDE (which the IDE remembers) and runs in it under its languages; an
/// instructor edits, archives and un-archives a course, and a student guessing join codes is locked out.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class CoursePagesBrowserTests(IdeFixture ide)
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task An_instructor_creates_a_course_a_student_joins_it_and_runs_in_it_from_the_ide()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            ["Iris:Sandbox:Uid"] = (CoursesAppFixture.SandboxUid + 32).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        var instructorEmail = TestAccounts.NewEmail("course-instructor");
        var studentEmail = TestAccounts.NewEmail("course-student");
        var instructorUser = await TestAccounts.AddAsync(app, instructorEmail, IrisRoles.Instructor);
        await TestAccounts.AddAsync(app, studentEmail, IrisRoles.Student);

        await using var instructorContext = await ide.NewContextAsync(app);
        var instructor = await SignInForm.SignedInPageAsync(instructorContext, instructorEmail);
        await instructor.GotoAsync("/courses").WaitAsync(Timeout);
        await instructor.GetByTestId("no-courses").WaitForAsync().WaitAsync(Timeout);
        await instructor.GetByTestId("course-name").FillAsync("Systems Programming").WaitAsync(Timeout);
        await instructor.GetByTestId("course-code").FillAsync("CS240").WaitAsync(Timeout);
        await instructor.GetByTestId("course-term").FillAsync("Fall 2026").WaitAsync(Timeout);
        await instructor.GetByTestId("create-course").ClickAsync().WaitAsync(Timeout);
        await instructor.WaitForURLAsync(url => new Uri(url).AbsolutePath.StartsWith("/courses/", StringComparison.Ordinal)).WaitAsync(Timeout);
        var joinCode = (await instructor.GetByTestId("join-code").TextContentAsync().WaitAsync(Timeout))!.Trim();
        var courseId = Guid.Parse(new Uri(instructor.Url).AbsolutePath["/courses/".Length..]);
        // Only C in this course, so a Python run shows the course was applied.
        Assert.Contains("(the server's default)", await instructor.GetByTestId("course-settings").TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        await instructor.GetByTestId("settings-languages").FillAsync("c").WaitAsync(Timeout);
        await instructor.GetByTestId("settings-retention").FillAsync("45").WaitAsync(Timeout);
        await instructor.GetByTestId("save-settings").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("c", await instructor.GetByTestId("languages").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal("45 days", await instructor.GetByTestId("retention").TextContentAsync().WaitAsync(Timeout));

        await using var studentContext = await ide.NewContextAsync(app);
        var student = await SignInForm.SignedInPageAsync(studentContext, studentEmail);
        await student.GotoAsync("/courses").WaitAsync(Timeout);
        await student.GetByTestId("join-code").FillAsync(joinCode).WaitAsync(Timeout);
        await student.GetByTestId("join").ClickAsync().WaitAsync(Timeout);
        Assert.Contains("You joined CS240 Systems Programming", await student.GetByTestId("notice").TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        Assert.Equal("student", await student.GetByTestId("course-row").GetByTestId("role").TextContentAsync().WaitAsync(Timeout));
        await student.CloseAsync().WaitAsync(Timeout);

        var ideInCourse = await IdePage.OpenAsync(studentContext).WaitAsync(Timeout * 3);
        await ideInCourse.SelectLanguageAsync("python");
        var picker = ideInCourse.Page.GetByTestId("course-select");
        await picker.SelectOptionAsync(courseId.ToString()).WaitAsync(Timeout);
        // Languages the course does not offer are marked in the picker (the one selected stays, for the server to refuse).
        await ideInCourse.WaitUntilAsync(
            async () => await ideInCourse.LanguageSelect.Locator("option[value='javascript']").IsDisabledAsync()
                && (await ideInCourse.LanguageSelect.Locator("option[value='javascript']").TextContentAsync() ?? "").Contains("not offered in this course", StringComparison.Ordinal),
            "JavaScript marked as not offered");
        Assert.False(await ideInCourse.LanguageSelect.Locator("option[value='c']").IsDisabledAsync().WaitAsync(Timeout));
        await ideInCourse.SetCodeAsync("print('not in this course')\n");
        await ideInCourse.RunButton.ClickAsync().WaitAsync(Timeout);
        await ideInCourse.WaitForTerminalTextAsync("does not offer Python");

        // Remembered for this user in this browser.
        var reopened = await IdePage.OpenAsync(studentContext).WaitAsync(Timeout * 3);
        await reopened.WaitUntilAsync(async () => await reopened.Page.GetByTestId("course-select").InputValueAsync() == courseId.ToString(), "the remembered course");
        await reopened.Page.GetByTestId("course-select").SelectOptionAsync("").WaitAsync(Timeout);
        await reopened.RunAsync("python", "print('outside the course')\n");
        await reopened.WaitForTerminalTextAsync("outside the course");
        var roster = await TestCourses.WithServiceAsync(app, s => s.RosterAsync(new CourseActor(instructorUser.Id, false, true), courseId, CancellationToken.None));
        Assert.Contains(roster!, m => m.Email == studentEmail && m.Role == CourseRole.Student);
    }

    [Fact]
    public async Task An_instructor_renames_archives_and_unarchives_a_course_and_a_student_guessing_codes_is_told_when_to_try_again()
    {
        // Nothing runs here: the sandbox uids are set only so that this app never takes another suite's.
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Uid"] = AdminPagesAppFixture.SandboxUid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
            ["Iris:Courses:MaxFailedJoinsPerUser"] = "3",
        });
        var instructorEmail = TestAccounts.NewEmail("edit-instructor");
        var studentEmail = TestAccounts.NewEmail("guessing-student");
        var instructorUser = await TestAccounts.AddAsync(app, instructorEmail, IrisRoles.Instructor);
        await TestAccounts.AddAsync(app, studentEmail, IrisRoles.Student);
        var course = await TestCourses.CreateAsync(app, new CourseActor(instructorUser.Id, false, true, instructorEmail));

        await using var instructorContext = await ide.NewContextAsync(app);
        var instructor = await SignInForm.SignedInPageAsync(instructorContext, instructorEmail);
        await instructor.GotoAsync($"/courses/{course.Id}").WaitAsync(Timeout);
        Assert.Equal("Intro to Programming", await instructor.GetByTestId("details-name").InputValueAsync().WaitAsync(Timeout));
        await instructor.GetByTestId("details-name").FillAsync("Programming I").WaitAsync(Timeout);
        await instructor.GetByTestId("details-code").FillAsync("CS110").WaitAsync(Timeout);
        await instructor.GetByTestId("save-details").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("Saved the course's name, code and term.", (await instructor.GetByTestId("notice").TextContentAsync().WaitAsync(Timeout))!.Trim());
        Assert.Equal("CS110 · Programming I", await instructor.GetByTestId("course-title").TextContentAsync().WaitAsync(Timeout));

        await instructor.GetByTestId("archive").ClickAsync().WaitAsync(Timeout);
        await instructor.GetByTestId("archived").WaitForAsync().WaitAsync(Timeout);
        Assert.Equal(0, await instructor.GetByTestId("save-details").CountAsync().WaitAsync(Timeout));
        await instructor.GetByTestId("unarchive").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("The course is active again: it takes joins and runs.", (await instructor.GetByTestId("notice").TextContentAsync().WaitAsync(Timeout))!.Trim());
        Assert.Equal(0, await instructor.GetByTestId("archived").CountAsync().WaitAsync(Timeout));
        await instructor.GetByTestId("save-details").WaitForAsync().WaitAsync(Timeout);

        await using var studentContext = await ide.NewContextAsync(app);
        var student = await SignInForm.SignedInPageAsync(studentContext, studentEmail);
        await student.GotoAsync("/courses").WaitAsync(Timeout);
        foreach (var guess in new[] { "aaaa-bbbb-cccc", "dddd-eeee-ffff", "gggg-hhhh-jjjj" })
        {
            await student.GetByTestId("join-code").FillAsync(guess).WaitAsync(Timeout);
            await student.GetByTestId("join").ClickAsync().WaitAsync(Timeout);
            Assert.StartsWith("Could not join: no course has this join code", await student.GetByTestId("form-error").TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        }

        // Locked: the real code is refused the same way, with when to try again.
        await student.GetByTestId("join-code").FillAsync(course.JoinCode).WaitAsync(Timeout);
        await student.GetByTestId("join").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("Could not join: too many attempts with unknown join codes: try again in 15 minutes.", await student.GetByTestId("form-error").TextContentAsync().WaitAsync(Timeout));
        await student.GetByTestId("no-courses").WaitForAsync().WaitAsync(Timeout);
    }
}
