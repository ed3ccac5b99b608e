using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.Courses;

/// <summary>The course pages over HTTP: who sees and may do what, guessed ids, forged and bad posts.</summary>
public sealed partial class CoursePagesTests(CoursesAppFixture fixture) : IClassFixture<CoursesAppFixture>
{
    private IrisWebApp App => fixture.App;

    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task An_anonymous_visitor_is_sent_to_sign_in_from_both_pages()
    {
        using var client = new AccountTestClient(App.BaseAddress);

        using var list = await client.Http.GetAsync("/courses").WaitAsync(AccountTestClient.Timeout);
        using var one = await client.Http.GetAsync($"/courses/{Guid.NewGuid()}").WaitAsync(AccountTestClient.Timeout);

        Assert.Equal(HttpStatusCode.Found, list.StatusCode);
        Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(list), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Found, one.StatusCode);
        Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(one), StringComparison.Ordinal);

        // Posts too, before any form is looked at (an anonymous visitor has no anti-forgery token to send).
        using var content = new FormUrlEncodedContent([new("_handler", "join-course"), new("Join.Code", "abcd-efgh-jkmn")]);
        using var post = await client.Http.PostAsync("/courses", content).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.Found, post.StatusCode);
        Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(post), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instructor_creates_a_course_and_a_student_joins_it_with_the_code_shown()
    {
        var (instructorUser, _) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, _) = await UserAsync(App, IrisRoles.Student, "student");
        using var instructor = await SignedInAsync(instructorUser);
        using var student = await SignedInAsync(studentUser);

        using var created = await instructor.PostFormAsync("/courses", "create-course", [new("NewCourse.Name", "Algorithms"), new("NewCourse.Code", "CS201"), new("NewCourse.Term", "Spring 2027")]);
        Assert.Equal(HttpStatusCode.Found, created.StatusCode);
        var coursePath = instructor.Target(created)!;
        Assert.Matches("^/courses/[0-9a-f-]{36}$", coursePath);
        var (status, html) = await instructor.GetAsync(coursePath);
        Assert.Equal(HttpStatusCode.OK, status);
        var joinCode = JoinCodePattern().Match(html).Groups[1].Value;
        Assert.Matches("^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", joinCode);

        using var joined = await student.PostFormAsync("/courses", "join-course", [new("Join.Code", joinCode.ToUpperInvariant())]);
        var joinedHtml = WebUtility.HtmlDecode(await AccountTestClient.BodyAsync(joined));

        Assert.Equal("", SignInTests.ErrorOf(joinedHtml));
        Assert.Contains("You joined CS201 Algorithms (Spring 2027) as a student.", joinedHtml, StringComparison.Ordinal);
        var (studentStatus, studentPage) = await student.GetAsync(coursePath);
        Assert.Equal(HttpStatusCode.OK, studentStatus);
        Assert.Contains("data-testid=\"my-role\">student<", studentPage, StringComparison.Ordinal);
        // A student sees their membership, not the roster nor the join code.
        Assert.DoesNotContain("roster-table", studentPage, StringComparison.Ordinal);
        Assert.DoesNotContain(joinCode, studentPage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_student_cannot_create_a_course_and_bad_input_gets_a_message()
    {
        var (studentUser, _) = await UserAsync(App, IrisRoles.Student, "student");
        var (instructorUser, _) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        using var student = await SignedInAsync(studentUser);
        using var instructor = await SignedInAsync(instructorUser);

        var (_, page) = await student.GetAsync("/courses");
        using var sneaked = await student.PostFormAsync("/courses", "create-course", [new("NewCourse.Name", "Mine"), new("NewCourse.Code", "X"), new("NewCourse.Term", "T")]);
        using var longName = await instructor.PostFormAsync("/courses", "create-course", [new("NewCourse.Name", new string('n', Course.MaxNameLength + 1)), new("NewCourse.Code", "X"), new("NewCourse.Term", "T")]);
        using var badCode = await student.PostFormAsync("/courses", "join-course", [new("Join.Code", "abcd-efgh-jkm0")]);
        using var forgedCreate = await instructor.PostFormAsync("/courses", "create-course", [new("NewCourse.Name", "Forged"), new("NewCourse.Code", "F1"), new("NewCourse.Term", "T")], withAntiforgery: false);

        Assert.DoesNotContain("create-course", page, StringComparison.Ordinal);
        // The form is not on a student's page, so the post is refused before the service (which says no too).
        Assert.Equal(HttpStatusCode.BadRequest, sneaked.StatusCode);
        Assert.Equal($"Could not create the course: the name is too long: at most {Course.MaxNameLength} characters.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(longName)));
        Assert.StartsWith("Could not join: no course has this join code", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(badCode)), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, forgedCreate.StatusCode);
        Assert.Empty(await WithServiceAsync(App, s => s.ListMineAsync(new CourseActor(studentUser.Id, false, false), None)));
        Assert.Empty(await WithServiceAsync(App, s => s.ListMineAsync(new CourseActor(instructorUser.Id, false, true), None)));
    }

    [Fact]
    public async Task Another_courses_instructor_gets_404_for_the_page_and_its_posts_and_changes_nothing()
    {
        var (_, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (otherUser, _) = await UserAsync(App, IrisRoles.Instructor, "other");
        var (victimUser, victim) = await UserAsync(App, IrisRoles.Student, "victim");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, victim, course);
        using var other = await SignedInAsync(otherUser);
        var path = $"/courses/{course.Id}";

        var (status, _) = await other.GetAsync(path);
        var (guessed, _) = await other.GetAsync($"/courses/{Guid.NewGuid()}");
        using var remove = await other.PostFormAsync(path, "member-action", [new("Member.Command", $"remove::{victimUser.Id}")], tokenFrom: "/courses");
        using var archive = await other.PostFormAsync(path, "course-action", [new("Action.Command", "archive")], tokenFrom: "/courses");
        using var archiveGuessed = await other.PostFormAsync($"/courses/{Guid.NewGuid()}", "course-action", [new("Action.Command", "archive")], tokenFrom: "/courses");

        // The same answers as for an id that does not exist: the page is 404, and its forms are not rendered,
        // so Blazor refuses posts to them (400) before any handler runs.
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(HttpStatusCode.NotFound, guessed);
        Assert.Equal(HttpStatusCode.BadRequest, remove.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, archive.StatusCode);
        Assert.Equal(archiveGuessed.StatusCode, archive.StatusCode);
        var after = await WithServiceAsync(App, s => s.FindAsync(owner, course.Id, None));
        Assert.False(after!.Course.IsArchived);
        Assert.NotNull(await WithServiceAsync(App, s => s.FindAsync(victim, course.Id, None)));
    }

    [Fact]
    public async Task A_teaching_assistant_sees_the_roster_but_cannot_change_it_and_a_student_neither()
    {
        var (_, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, ta, course);
        await JoinAsync(App, student, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(owner, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));
        using var taClient = await SignedInAsync(taUser);
        using var studentClient = await SignedInAsync(studentUser);
        var path = $"/courses/{course.Id}";

        var (_, taPage) = await taClient.GetAsync(path);
        using var taPromotes = await taClient.PostFormAsync(path, "member-action", [new("Member.Command", $"role:Instructor:{taUser.Id}")]);
        using var studentPromotes = await studentClient.PostFormAsync(path, "member-action", [new("Member.Command", $"role:Instructor:{studentUser.Id}")]);
        using var studentRegenerates = await studentClient.PostFormAsync(path, "course-action", [new("Action.Command", "regenerate")]);

        Assert.Contains("roster-table", taPage, StringComparison.Ordinal);
        Assert.Contains($"data-email=\"{studentUser.Email}\"", taPage, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"remove\"", taPage, StringComparison.Ordinal);
        Assert.DoesNotContain(course.JoinCode, taPage, StringComparison.Ordinal);
        Assert.Equal("Could not do that: only the course's instructors manage it.", WebUtility.HtmlDecode(SignInTests.ErrorOf(await AccountTestClient.BodyAsync(taPromotes))));
        // A student's page has neither form: Blazor refuses a post to a form the page does not render (400).
        Assert.Equal(HttpStatusCode.BadRequest, studentPromotes.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, studentRegenerates.StatusCode);
        var roster = await WithServiceAsync(App, s => s.RosterAsync(owner, course.Id, None));
        Assert.Equal(CourseRole.TeachingAssistant, Assert.Single(roster!, m => m.UserId == taUser.Id).Role);
        Assert.Equal(CourseRole.Student, Assert.Single(roster!, m => m.UserId == studentUser.Id).Role);
        Assert.Equal(course.JoinCode, (await WithServiceAsync(App, s => s.FindAsync(owner, course.Id, None)))!.Course.JoinCode);
    }

    [Fact]
    public async Task An_admin_manages_any_course_and_posts_without_anti_forgery_are_refused()
    {
        var (_, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (adminUser, _) = await UserAsync(App, IrisRoles.Admin, "admin");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, student, course);
        using var admin = await SignedInAsync(adminUser);
        var path = $"/courses/{course.Id}";

        using var forged = await admin.PostFormAsync(path, "member-action", [new("Member.Command", $"remove::{studentUser.Id}")], withAntiforgery: false);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.NotNull(await WithServiceAsync(App, s => s.FindAsync(student, course.Id, None)));

        using var promoted = await admin.PostFormAsync(path, "member-action", [new("Member.Command", $"role:TeachingAssistant:{studentUser.Id}")]);
        Assert.Equal("", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(promoted)));
        using var bogus = await admin.PostFormAsync(path, "member-action", [new("Member.Command", $"role:Dean:{studentUser.Id}")]);
        Assert.Equal("Could not do that: unknown course role 'Dean'.", WebUtility.HtmlDecode(SignInTests.ErrorOf(await AccountTestClient.BodyAsync(bogus))));
        using var removed = await admin.PostFormAsync(path, "member-action", [new("Member.Command", $"remove::{studentUser.Id}")]);
        Assert.Equal("", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(removed)));
        Assert.Null(await WithServiceAsync(App, s => s.FindAsync(student, course.Id, None)));
    }

    [Fact]
    public async Task A_roster_file_upload_adds_students_and_lists_unknown_emails_and_bad_lines()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (known, _) = await UserAsync(App, IrisRoles.Student, "known");
        var course = await CreateAsync(App, owner);
        using var client = await SignedInAsync(ownerUser);
        var path = $"/courses/{course.Id}";
        var unknown = TestAccounts.NewEmail("nobody");

        using var imported = await PostRosterFileAsync(client, path, $"email\n{known.Email}\n{unknown}\nbroken line\n");
        var html = WebUtility.HtmlDecode(await AccountTestClient.BodyAsync(imported));
        using var tooLarge = await PostRosterFileAsync(client, path, new string('x', CourseService.MaxRosterBytes + 1));
        using var forged = await PostRosterFileAsync(client, path, $"{known.Email}\n", withAntiforgery: false);

        Assert.Equal("", SignInTests.ErrorOf(html));
        Assert.Contains("Added 1 students; 0 were members already; 1 emails have no account; 1 lines skipped.", html, StringComparison.Ordinal);
        Assert.Contains($"line 3: {unknown}", html, StringComparison.Ordinal);
        Assert.Contains("line 4: not an email address (broken line)", html, StringComparison.Ordinal);
        Assert.Equal($"Could not import: the roster file is too large: at most {CourseService.MaxRosterBytes / 1024} KiB.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(tooLarge)));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var roster = await WithServiceAsync(App, s => s.RosterAsync(owner, course.Id, None));
        Assert.Contains(roster!, m => m.UserId == known.Id && m.Role == CourseRole.Student);
    }

    [Fact]
    public async Task An_archived_course_is_read_only_on_its_page_and_refuses_joins()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (lateUser, _) = await UserAsync(App, IrisRoles.Student, "late");
        var course = await CreateAsync(App, owner);
        using var client = await SignedInAsync(ownerUser);
        using var late = await SignedInAsync(lateUser);
        var path = $"/courses/{course.Id}";

        using var archived = await client.PostFormAsync(path, "course-action", [new("Action.Command", "archive")]);
        var archivedHtml = await AccountTestClient.BodyAsync(archived);
        using var regenerate = await client.PostFormAsync(path, "course-action", [new("Action.Command", "regenerate")], tokenFrom: "/courses");
        using var join = await late.PostFormAsync("/courses", "join-course", [new("Join.Code", course.JoinCode)]);

        Assert.Contains("data-testid=\"archived\"", archivedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"regenerate\"", archivedHtml, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, regenerate.StatusCode);
        Assert.Equal(course.JoinCode, (await WithServiceAsync(App, s => s.FindAsync(owner, course.Id, None)))!.Course.JoinCode);
        Assert.EndsWith("is archived: it takes no new members.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(join)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_instructor_edits_name_code_and_term_on_the_page_and_a_teaching_assistant_gets_no_form()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, ta, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(owner, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));
        using var client = await SignedInAsync(ownerUser);
        using var taClient = await SignedInAsync(taUser);
        var path = $"/courses/{course.Id}";

        var (_, before) = await client.GetAsync(path);
        using var tooLong = await client.PostFormAsync(path, "course-details", [new("Details.Name", "N"), new("Details.Code", new string('c', Course.MaxCodeLength + 1)), new("Details.Term", "T")]);
        using var saved = await client.PostFormAsync(path, "course-details", [new("Details.Name", "Operating Systems"), new("Details.Code", "CS350"), new("Details.Term", "Spring 2027")]);
        var savedHtml = WebUtility.HtmlDecode(await AccountTestClient.BodyAsync(saved));
        var (_, taPage) = await taClient.GetAsync(path);
        using var byTa = await taClient.PostFormAsync(path, "course-details", [new("Details.Name", "TA's"), new("Details.Code", "X"), new("Details.Term", "T")]);
        using var forged = await client.PostFormAsync(path, "course-details", [new("Details.Name", "Forged"), new("Details.Code", "F"), new("Details.Term", "T")], withAntiforgery: false);

        // The form starts from the course as it is.
        Assert.Contains("value=\"Intro to Programming\"", before, StringComparison.Ordinal);
        Assert.Equal($"Could not do that: the code is too long: at most {Course.MaxCodeLength} characters.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(tooLong)));
        Assert.Equal("", SignInTests.ErrorOf(savedHtml));
        Assert.Contains("Saved the course's name, code and term.", savedHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"course-title\">CS350 · Operating Systems<", savedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("save-details", taPage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, byTa.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        var after = (await WithServiceAsync(App, s => s.FindAsync(owner, course.Id, None)))!.Course;
        Assert.Equal(("Operating Systems", "CS350", "Spring 2027"), (after.Name, after.Code, after.Term));
    }

    [Fact]
    public async Task An_archived_course_offers_un_archive_to_its_instructor_only_and_takes_joins_again_after_it()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var (lateUser, _) = await UserAsync(App, IrisRoles.Student, "late");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, ta, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(owner, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));
        Assert.True((await WithServiceAsync(App, s => s.ArchiveAsync(owner, course.Id, None))).Succeeded);
        using var client = await SignedInAsync(ownerUser);
        using var taClient = await SignedInAsync(taUser);
        using var late = await SignedInAsync(lateUser);
        var path = $"/courses/{course.Id}";

        var (_, archivedPage) = await client.GetAsync(path);
        var (_, taPage) = await taClient.GetAsync(path);
        using var byTa = await taClient.PostFormAsync(path, "course-unarchive", [], tokenFrom: "/courses");
        using var editArchived = await client.PostFormAsync(path, "course-details", [new("Details.Name", "N"), new("Details.Code", "C"), new("Details.Term", "T")], tokenFrom: "/courses");
        using var unarchived = await client.PostFormAsync(path, "course-unarchive", []);
        var unarchivedHtml = WebUtility.HtmlDecode(await AccountTestClient.BodyAsync(unarchived));
        using var joined = await late.PostFormAsync("/courses", "join-course", [new("Join.Code", course.JoinCode)]);

        Assert.Contains("data-testid=\"unarchive\"", archivedPage, StringComparison.Ordinal);
        Assert.DoesNotContain("save-details", archivedPage, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"unarchive\"", taPage, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, byTa.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, editArchived.StatusCode);
        Assert.Equal("", SignInTests.ErrorOf(unarchivedHtml));
        Assert.Contains("The course is active again: it takes joins and runs.", unarchivedHtml, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"archived\"", unarchivedHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"regenerate\"", unarchivedHtml, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"save-details\"", unarchivedHtml, StringComparison.Ordinal);
        Assert.Equal("", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(joined)));
        Assert.NotNull(await WithServiceAsync(App, s => s.FindAsync(new CourseActor(lateUser.Id, false, false), course.Id, None)));
    }

    [Fact]
    public async Task Too_many_unknown_join_codes_on_the_page_are_answered_with_when_to_try_again_and_a_classmate_still_joins()
    {
        var (_, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (guesserUser, _) = await UserAsync(App, IrisRoles.Student, "guesser");
        var (classmateUser, _) = await UserAsync(App, IrisRoles.Student, "classmate");
        var course = await CreateAsync(App, owner);
        using var guesser = await SignedInAsync(guesserUser);
        using var classmate = await SignedInAsync(classmateUser);

        for (var i = 0; i < 10; i++)
        {
            using var guess = await guesser.PostFormAsync("/courses", "join-course", [new("Join.Code", JoinCodes.Generate())]);
            Assert.StartsWith("Could not join: no course has this join code", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(guess)), StringComparison.Ordinal);
        }

        using var locked = await guesser.PostFormAsync("/courses", "join-course", [new("Join.Code", JoinCodes.Generate())]);
        using var valid = await guesser.PostFormAsync("/courses", "join-course", [new("Join.Code", course.JoinCode)]);
        using var other = await classmate.PostFormAsync("/courses", "join-course", [new("Join.Code", course.JoinCode)]);

        Assert.Equal("Could not join: too many attempts with unknown join codes: try again in 15 minutes.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(locked)));
        Assert.Equal("Could not join: too many attempts with unknown join codes: try again in 15 minutes.", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(valid)));
        Assert.Equal("", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(other)));
        Assert.Empty(await WithServiceAsync(App, s => s.ListMineAsync(new CourseActor(guesserUser.Id, false, false), None)));
    }

    [Fact]
    public async Task An_instructor_sets_languages_and_limits_on_the_page_and_bad_values_get_a_message()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var course = await CreateAsync(App, owner);
        using var client = await SignedInAsync(ownerUser);
        var path = $"/courses/{course.Id}";

        using var unknown = await client.PostFormAsync(path, "course-settings", [new("Settings.Languages", "python fortran77")]);
        using var negative = await client.PostFormAsync(path, "course-settings", [new("Settings.CpuSeconds", "0")]);
        using var saved = await client.PostFormAsync(path, "course-settings", [new("Settings.Languages", "python, c++"), new("Settings.WallSeconds", "999"), new("Settings.MemoryMiB", "64")]);
        var savedHtml = await AccountTestClient.BodyAsync(saved);

        Assert.StartsWith("Could not do that: unknown language 'fortran77'", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(unknown)), StringComparison.Ordinal);
        Assert.Equal("Could not do that: the CPU time limit must be positive (leave it empty for the server's default).", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(negative)));
        Assert.Equal("", SignInTests.ErrorOf(savedHtml));
        Assert.Contains("data-testid=\"languages\">python, cpp<", savedHtml, StringComparison.Ordinal);
        var after = (await WithServiceAsync(App, s => s.FindAsync(owner, course.Id, None)))!.Course;
        Assert.Equal(20, after.WallSeconds);
        Assert.Equal(64L * 1024 * 1024, after.MemoryBytes);
    }

    [Fact]
    public async Task Only_the_courses_instructor_creates_a_course_token_on_its_page_and_it_runs_in_that_course()
    {
        var (ownerUser, owner) = await UserAsync(App, IrisRoles.Instructor, "owner");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Instructor, "ta");
        var course = await CreateAsync(App, owner);
        await JoinAsync(App, ta, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(owner, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));
        using var client = await SignedInAsync(ownerUser);
        using var taClient = await SignedInAsync(taUser);
        var path = $"/courses/{course.Id}";

        using var created = await client.PostFormAsync(path, "course-token", [new("NewToken.Name", "grader"), new("NewToken.ExpiresDays", "7"), new("NewToken.RunsRead", "true")]);
        var html = await AccountTestClient.BodyAsync(created);
        using var byTa = await taClient.PostFormAsync(path, "course-token", [new("NewToken.Name", "sneaky"), new("NewToken.ExpiresDays", "7")]);

        Assert.Equal("", SignInTests.ErrorOf(html));
        var token = NewTokenPattern().Match(html).Groups[1].Value;
        Assert.StartsWith("iris_pat_", token, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, byTa.StatusCode);
        using var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        using var run = await http.PostAsync("/api/v1/runs", new StringContent("{\"language\":\"python\",\"files\":[{\"name\":\"\",\"content\":\"print(1)\"}]}", Encoding.UTF8, "application/json")).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.Accepted, run.StatusCode);
        // The token is the owner's, bound to the course: nobody else's token list grew.
        await using var scope = App.Services.CreateAsyncScope();
        var tokens = await scope.ServiceProvider.GetRequiredService<AccessTokenService>().ListAsync(ownerUser.Id, None);
        Assert.Equal(course.Id, Assert.Single(tokens).CourseId);
        Assert.Empty(await scope.ServiceProvider.GetRequiredService<AccessTokenService>().ListAsync(taUser.Id, None));
    }

    private async Task<AccountTestClient> SignedInAsync(IrisUser user)
    {
        var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(user.Email!, TestAccounts.Password);
        return client;
    }

    private static async Task<HttpResponseMessage> PostRosterFileAsync(AccountTestClient client, string path, string csv, bool withAntiforgery = true)
    {
        using var content = new MultipartFormDataContent
        {
            { new StringContent("roster-import"), "_handler" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "rosterFile", "roster.csv" },
        };
        if (withAntiforgery)
        {
            content.Add(new StringContent(await client.AntiforgeryTokenAsync(path)), "__RequestVerificationToken");
        }

        return await client.Http.PostAsync(path, content).WaitAsync(AccountTestClient.Timeout);
    }

    [GeneratedRegex("data-testid=\"new-token\">([^<]+)<")]
    private static partial Regex NewTokenPattern();

    [GeneratedRegex("data-testid=\"join-code\">([^<]+)<")]
    private static partial Regex JoinCodePattern();
}
