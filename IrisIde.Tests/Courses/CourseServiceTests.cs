using System.Text;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.Courses;

/// <summary>The course rules, through the service every page and run surface uses; run on SQLite and on PostgreSQL.</summary>
public abstract class CourseServiceTests
{
    protected abstract IrisWebApp App { get; }

    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task The_creator_becomes_the_courses_instructor_and_a_student_cannot_create_one()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (_, student) = await UserAsync(App, IrisRoles.Student, "student");

        var course = await CreateAsync(App, instructor);
        var refused = await WithServiceAsync(App, s => s.CreateAsync(student, "Mine", "X1", "Fall", None));

        Assert.Equal(CourseRole.Instructor, (await WithServiceAsync(App, s => s.FindAsync(instructor, course.Id, None)))!.Role);
        Assert.Equal("only instructors and admins create courses.", refused.Error);
        Assert.Matches("^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", course.JoinCode);
    }

    [Fact]
    public async Task Names_codes_and_terms_are_required_and_capped()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");

        var longName = await WithServiceAsync(App, s => s.CreateAsync(instructor, new string('n', Course.MaxNameLength + 1), "C", "T", None));
        var exactName = await WithServiceAsync(App, s => s.CreateAsync(instructor, new string('n', Course.MaxNameLength), "C", "T", None));
        var longCode = await WithServiceAsync(App, s => s.CreateAsync(instructor, "N", new string('c', Course.MaxCodeLength + 1), "T", None));
        var longTerm = await WithServiceAsync(App, s => s.CreateAsync(instructor, "N", "C", new string('t', Course.MaxTermLength + 1), None));
        var noCode = await WithServiceAsync(App, s => s.CreateAsync(instructor, "N", "  ", "T", None));

        Assert.Equal($"the name is too long: at most {Course.MaxNameLength} characters.", longName.Error);
        Assert.True(exactName.Succeeded, exactName.Error);
        Assert.Equal($"the code is too long: at most {Course.MaxCodeLength} characters.", longCode.Error);
        Assert.Equal($"the term is too long: at most {Course.MaxTermLength} characters.", longTerm.Error);
        Assert.Equal("the course needs a code.", noCode.Error);
    }

    [Fact]
    public async Task A_student_joins_by_code_once_typed_in_any_case_and_a_regenerated_code_replaces_the_old()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (_, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (_, late) = await UserAsync(App, IrisRoles.Student, "late");
        var course = await CreateAsync(App, instructor);

        var joined = await WithServiceAsync(App, s => s.JoinAsync(student, $" {course.JoinCode.Replace("-", "", StringComparison.Ordinal).ToUpperInvariant()} ", None));
        var again = await WithServiceAsync(App, s => s.JoinAsync(student, course.JoinCode, None));
        var regenerated = await WithServiceAsync(App, s => s.RegenerateJoinCodeAsync(instructor, course.Id, None));
        var withOld = await WithServiceAsync(App, s => s.JoinAsync(late, course.JoinCode, None));
        var withNew = await WithServiceAsync(App, s => s.JoinAsync(late, regenerated.Course!.JoinCode, None));
        var garbage = await WithServiceAsync(App, s => s.JoinAsync(late, "not a code at all", None));

        Assert.True(joined.Succeeded, joined.Error);
        Assert.Equal(CourseRole.Student, (await WithServiceAsync(App, s => s.FindAsync(student, course.Id, None)))!.Role);
        Assert.StartsWith("you are already a member of CS101", again.Error, StringComparison.Ordinal);
        Assert.NotEqual(course.JoinCode, regenerated.Course!.JoinCode);
        Assert.StartsWith("no course has this join code", withOld.Error, StringComparison.Ordinal);
        Assert.True(withNew.Succeeded, withNew.Error);
        Assert.StartsWith("no course has this join code", garbage.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_members_and_admins_find_a_course_and_only_its_instructors_and_admins_manage_it()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (_, other) = await UserAsync(App, IrisRoles.Instructor, "other-instructor");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (_, admin) = await UserAsync(App, IrisRoles.Admin, "admin");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, ta, course);
        await JoinAsync(App, student, course);
        Assert.True((await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, taUser.Id, CourseRole.TeachingAssistant, None))).Succeeded);

        Assert.Null(await WithServiceAsync(App, s => s.FindAsync(other, course.Id, None)));
        Assert.Null(await WithServiceAsync(App, s => s.FindAsync(other, Guid.NewGuid(), None)));
        Assert.Null(await WithServiceAsync(App, s => s.RosterAsync(other, course.Id, None)));
        Assert.Null(await WithServiceAsync(App, s => s.RosterAsync(student, course.Id, None)));
        Assert.Equal(3, (await WithServiceAsync(App, s => s.RosterAsync(ta, course.Id, None)))!.Count);
        Assert.Equal(3, (await WithServiceAsync(App, s => s.RosterAsync(admin, course.Id, None)))!.Count);

        // Another course's instructor learns nothing: the same answer as for a course that does not exist.
        Assert.Equal(CourseService.NotFound, (await WithServiceAsync(App, s => s.RemoveAsync(other, course.Id, studentUser.Id, None))).Error);
        Assert.Equal(CourseService.NotFound, (await WithServiceAsync(App, s => s.RegenerateJoinCodeAsync(other, course.Id, None))).Error);
        Assert.Equal("only the course's instructors manage it.", (await WithServiceAsync(App, s => s.RemoveAsync(ta, course.Id, studentUser.Id, None))).Error);
        Assert.Equal("only the course's instructors manage it.", (await WithServiceAsync(App, s => s.SetRoleAsync(student, course.Id, studentUser.Id, CourseRole.Instructor, None))).Error);
        Assert.True((await WithServiceAsync(App, s => s.RemoveAsync(admin, course.Id, studentUser.Id, None))).Succeeded);
        Assert.Null(await WithServiceAsync(App, s => s.FindAsync(student, course.Id, None)));
    }

    [Fact]
    public async Task The_last_instructor_can_be_neither_demoted_nor_removed()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (secondUser, second) = await UserAsync(App, IrisRoles.Student, "second");
        var course = await CreateAsync(App, instructor);

        var demote = await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, instructorUser.Id, CourseRole.Student, None));
        var remove = await WithServiceAsync(App, s => s.RemoveAsync(instructor, course.Id, instructorUser.Id, None));
        await JoinAsync(App, second, course);
        var promote = await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, secondUser.Id, CourseRole.Instructor, None));
        var demoteNow = await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, instructorUser.Id, CourseRole.Student, None));

        Assert.StartsWith("the course's last instructor cannot be demoted", demote.Error, StringComparison.Ordinal);
        Assert.StartsWith("the course's last instructor cannot be removed", remove.Error, StringComparison.Ordinal);
        Assert.True(promote.Succeeded, promote.Error);
        Assert.True(demoteNow.Succeeded, demoteNow.Error);
    }

    [Fact]
    public async Task Staff_actions_on_a_course_are_in_the_audit_log_with_who_did_them()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);

        var promoted = await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, studentUser.Id, CourseRole.TeachingAssistant, None));
        var removed = await WithServiceAsync(App, s => s.RemoveAsync(instructor, course.Id, studentUser.Id, None));
        var archived = await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None));

        Assert.True(promoted.Succeeded && removed.Succeeded && archived.Succeeded);
        var mine = await IrisIde.Tests.Audit.AuditTestSupport.WaitForAsync(
            App, e => e.ActorId == instructorUser.Id && e.Target is { } t && t.Contains(course.Id.ToString(), StringComparison.Ordinal), count: 4);
        Assert.Equal(
            [IrisIde.Web.Audit.AuditActions.CourseCreated, IrisIde.Web.Audit.AuditActions.CourseRoleChanged, IrisIde.Web.Audit.AuditActions.CourseMemberRemoved, IrisIde.Web.Audit.AuditActions.CourseArchived],
            mine.OrderBy(e => e.Id).Select(e => e.Action));
        var roleChange = Assert.Single(mine, e => e.Action == IrisIde.Web.Audit.AuditActions.CourseRoleChanged);
        Assert.Equal("Student -> TeachingAssistant", roleChange.Detail);
        Assert.Contains(studentUser.Id, roleChange.Target, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_roster_import_adds_known_users_and_reports_unknown_emails_and_bad_rows_by_line()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (known, _) = await UserAsync(App, IrisRoles.Student, "known");
        var (member, memberActor) = await UserAsync(App, IrisRoles.Student, "member");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, memberActor, course);
        var unknown = TestAccounts.NewEmail("nobody");
        var csv = $"email,name\r\n{known.Email!.ToUpperInvariant()},Known Student\r\n\r\n{member.Email}\r\nnot-an-email\r\n\"{unknown}\",X\r\n";

        var result = await WithServiceAsync(App, s => s.ImportRosterAsync(instructor, course.Id, csv, None));

        Assert.Null(result.Error);
        Assert.Equal([known.Email!], result.Added);
        Assert.Equal([member.Email!], result.AlreadyMembers);
        Assert.Equal(new RosterProblem(6, unknown, "no account with this email"), Assert.Single(result.UnknownEmails));
        Assert.Equal(new RosterProblem(5, "not-an-email", "not an email address"), Assert.Single(result.BadRows));
        var roster = await WithServiceAsync(App, s => s.RosterAsync(instructor, course.Id, None));
        Assert.Contains(roster!, m => m.UserId == known.Id && m.Role == CourseRole.Student);
    }

    [Fact]
    public async Task A_roster_over_the_size_or_row_cap_is_refused_whole()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var course = await CreateAsync(App, instructor);
        var tooManyRows = string.Join('\n', Enumerable.Range(0, CourseService.MaxRosterRows + 2).Select(i => $"s{i}@x.edu"));
        var tooLarge = new StringBuilder().Append('a', CourseService.MaxRosterBytes).Append("@x.edu").ToString();

        var atTheCap = "email\n\n" + string.Join('\n', Enumerable.Range(0, CourseService.MaxRosterRows).Select(i => $"cap{i}-{Guid.NewGuid():N}@x.edu")) + "\n";

        var rows = await WithServiceAsync(App, s => s.ImportRosterAsync(instructor, course.Id, tooManyRows, None));
        var cap = await WithServiceAsync(App, s => s.ImportRosterAsync(instructor, course.Id, atTheCap, None));
        var size = await WithServiceAsync(App, s => s.ImportRosterAsync(instructor, course.Id, tooLarge, None));
        var empty = await WithServiceAsync(App, s => s.ImportRosterAsync(instructor, course.Id, " \n", None));

        Assert.Equal($"the roster has too many lines: at most {CourseService.MaxRosterRows} students per import.", rows.Error);
        Assert.Equal($"the roster file is too large: at most {CourseService.MaxRosterBytes / 1024} KiB.", size.Error);
        Assert.Equal("the roster file is empty.", empty.Error);
        // The header and blank lines do not count: exactly the cap of rows is still imported (here: all unknown).
        Assert.Null(cap.Error);
        Assert.Equal(CourseService.MaxRosterRows, cap.UnknownEmails.Count);
        Assert.Equal(CourseService.MaxRosterRows + 2, cap.UnknownEmails[^1].Line);
    }

    [Fact]
    public async Task Settings_take_catalogue_languages_and_clamp_limits_to_the_servers_maxima()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var course = await CreateAsync(App, instructor);

        var unknown = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(["python", "cobol-2099"], null, null, null, null, null), None));
        var negative = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(null, null, -1, null, null, null), None));
        var noDays = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(null, null, null, null, null, null, 0), None));
        var tooManyDays = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(null, null, null, null, null, null, Course.MaxHistoryRetentionDays + 1), None));
        var set = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(["python3", "c++", "python"], 500, 2, null, 1000, 100, 30), None));

        Assert.StartsWith("unknown language 'cobol-2099'", unknown.Error, StringComparison.Ordinal);
        Assert.Equal("the CPU time limit must be positive (leave it empty for the server's default).", negative.Error);
        Assert.Equal($"runs are kept from 1 to {Course.MaxHistoryRetentionDays} days (leave it empty for the server's default).", noDays.Error);
        Assert.Equal(noDays.Error, tooManyDays.Error);
        Assert.True(set.Succeeded, set.Error);
        Assert.Equal(["python", "cpp"], set.Course!.LanguageList);
        Assert.Equal(20, set.Course.WallSeconds);
        Assert.Equal(2, set.Course.CpuSeconds);
        Assert.Equal(8, set.Course.MaxSessionsPerUser);
        Assert.Equal(1000, set.Course.RunsPerMinutePerUser);
        Assert.Equal(30, set.Course.HistoryRetentionDays);
    }

    [Fact]
    public async Task An_archived_course_takes_no_joins_no_changes_and_no_runs()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (_, late) = await UserAsync(App, IrisRoles.Student, "late");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        Assert.Null((await WithServiceAsync(App, s => s.ForRunAsync(studentUser.Id, course.Id.ToString(), None))).Error);

        var archived = await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None));

        Assert.True(archived.Succeeded, archived.Error);
        Assert.EndsWith("is archived: it takes no new members.", (await WithServiceAsync(App, s => s.JoinAsync(late, course.JoinCode, None))).Error, StringComparison.Ordinal);
        Assert.Equal("the course is archived: it is read-only (un-archive it first).", (await WithServiceAsync(App, s => s.RegenerateJoinCodeAsync(instructor, course.Id, None))).Error);
        Assert.Equal("the course CS101 is archived: it takes no new runs", (await WithServiceAsync(App, s => s.ForRunAsync(studentUser.Id, course.Id.ToString(), None))).Error);
        Assert.NotNull(await WithServiceAsync(App, s => s.RosterAsync(instructor, course.Id, None)));
    }

    [Fact]
    public async Task Its_instructors_and_admins_edit_name_code_and_term_under_the_rules_of_creation_and_nobody_else()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (_, other) = await UserAsync(App, IrisRoles.Instructor, "other-instructor");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var (_, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (_, admin) = await UserAsync(App, IrisRoles.Admin, "admin");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, ta, course);
        await JoinAsync(App, student, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));

        var edited = await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, "  Programming I ", "CS101a", "Spring 2027", None));
        var longName = await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, new string('n', Course.MaxNameLength + 1), "C", "T", None));
        var noTerm = await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, "N", "C", " ", None));
        var control = await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, "N", "C\u0007", "T", None));
        var byTa = await WithServiceAsync(App, s => s.UpdateAsync(ta, course.Id, "TA's", "X", "T", None));
        var byStudent = await WithServiceAsync(App, s => s.UpdateAsync(student, course.Id, "Mine", "X", "T", None));
        var byOther = await WithServiceAsync(App, s => s.UpdateAsync(other, course.Id, "Theirs", "X", "T", None));
        var guessed = await WithServiceAsync(App, s => s.UpdateAsync(admin, Guid.NewGuid(), "Nothing", "X", "T", None));
        var byAdmin = await WithServiceAsync(App, s => s.UpdateAsync(admin, course.Id, "Programming I", "CS101", "Spring 2027", None));

        Assert.True(edited.Succeeded, edited.Error);
        Assert.Equal(("Programming I", "CS101a", "Spring 2027"), (edited.Course!.Name, edited.Course.Code, edited.Course.Term));
        Assert.Equal($"the name is too long: at most {Course.MaxNameLength} characters.", longName.Error);
        Assert.Equal("the course needs a term.", noTerm.Error);
        Assert.Equal("the code must not contain control characters.", control.Error);
        Assert.Equal("only the course's instructors manage it.", byTa.Error);
        Assert.Equal("only the course's instructors manage it.", byStudent.Error);
        Assert.Equal(CourseService.NotFound, byOther.Error);
        Assert.Equal(CourseService.NotFound, guessed.Error);
        Assert.True(byAdmin.Succeeded, byAdmin.Error);
        var after = (await WithServiceAsync(App, s => s.FindAsync(instructor, course.Id, None)))!.Course;
        Assert.Equal(("Programming I", "CS101", "Spring 2027", course.JoinCode), (after.Name, after.Code, after.Term, after.JoinCode));
    }

    [Fact]
    public async Task An_archived_course_is_not_edited_until_its_instructor_or_an_admin_unarchives_it_and_then_takes_joins_and_runs()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (_, other) = await UserAsync(App, IrisRoles.Instructor, "other-instructor");
        var (taUser, ta) = await UserAsync(App, IrisRoles.Student, "ta");
        var (lateUser, late) = await UserAsync(App, IrisRoles.Student, "late");
        var (_, admin) = await UserAsync(App, IrisRoles.Admin, "admin");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, ta, course);
        await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, taUser.Id, CourseRole.TeachingAssistant, None));

        var notArchived = await WithServiceAsync(App, s => s.UnarchiveAsync(instructor, course.Id, None));
        Assert.True((await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None))).Succeeded);
        var edit = await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, "Renamed", "CS101", "Fall 2026", None));
        var byTa = await WithServiceAsync(App, s => s.UnarchiveAsync(ta, course.Id, None));
        var byOther = await WithServiceAsync(App, s => s.UnarchiveAsync(other, course.Id, None));
        var byOutsider = await WithServiceAsync(App, s => s.UnarchiveAsync(late, course.Id, None));
        var stillArchived = (await WithServiceAsync(App, s => s.FindAsync(instructor, course.Id, None)))!.Course.IsArchived;
        var unarchived = await WithServiceAsync(App, s => s.UnarchiveAsync(instructor, course.Id, None));
        var joined = await WithServiceAsync(App, s => s.JoinAsync(late, course.JoinCode, None));
        var run = await WithServiceAsync(App, s => s.ForRunAsync(lateUser.Id, course.Id.ToString(), None));
        Assert.True((await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None))).Succeeded);
        var byAdmin = await WithServiceAsync(App, s => s.UnarchiveAsync(admin, course.Id, None));

        Assert.Equal("the course is not archived.", notArchived.Error);
        Assert.Equal("the course is archived: it is read-only (un-archive it first).", edit.Error);
        Assert.Equal("only the course's instructors manage it.", byTa.Error);
        Assert.Equal(CourseService.NotFound, byOther.Error);
        Assert.Equal(CourseService.NotFound, byOutsider.Error);
        Assert.True(stillArchived);
        Assert.True(unarchived.Succeeded, unarchived.Error);
        Assert.Null(unarchived.Course!.ArchivedAtUtc);
        Assert.True(joined.Succeeded, joined.Error);
        Assert.Null(run.Error);
        Assert.True(byAdmin.Succeeded, byAdmin.Error);
        Assert.False((await WithServiceAsync(App, s => s.FindAsync(instructor, course.Id, None)))!.Course.IsArchived);
    }

    [Fact]
    public async Task Editing_and_unarchiving_are_in_the_audit_log_with_the_names_before_and_after()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var course = await CreateAsync(App, instructor);

        Assert.True((await WithServiceAsync(App, s => s.UpdateAsync(instructor, course.Id, "Data Structures", "CS102", "Spring 2027", None))).Succeeded);
        Assert.True((await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None))).Succeeded);
        Assert.True((await WithServiceAsync(App, s => s.UnarchiveAsync(instructor, course.Id, None))).Succeeded);

        var mine = await IrisIde.Tests.Audit.AuditTestSupport.WaitForAsync(
            App, e => e.ActorId == instructorUser.Id && e.Target is { } t && t.Contains(course.Id.ToString(), StringComparison.Ordinal), count: 4);
        Assert.Equal(
            [IrisIde.Web.Audit.AuditActions.CourseCreated, IrisIde.Web.Audit.AuditActions.CourseUpdated, IrisIde.Web.Audit.AuditActions.CourseArchived, IrisIde.Web.Audit.AuditActions.CourseUnarchived],
            mine.OrderBy(e => e.Id).Select(e => e.Action));
        var updated = Assert.Single(mine, e => e.Action == IrisIde.Web.Audit.AuditActions.CourseUpdated);
        Assert.Equal("CS101 Intro to Programming (Fall 2026) -> CS102 Data Structures (Spring 2027)", updated.Detail);
        Assert.Equal($"course CS101 Fall 2026 ({course.Id})", updated.Target);
        Assert.StartsWith("archived since ", Assert.Single(mine, e => e.Action == IrisIde.Web.Audit.AuditActions.CourseUnarchived).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ten_unknown_join_codes_lock_the_user_out_even_for_a_valid_code_audited_once_and_other_users_join()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (guesserUser, guesser) = await UserAsync(App, IrisRoles.Student, "guesser");
        var (_, classmate) = await UserAsync(App, IrisRoles.Student, "classmate");
        var course = await CreateAsync(App, instructor);

        var failures = new List<CourseResult>();
        for (var i = 0; i < 10; i++)
        {
            failures.Add(await WithServiceAsync(App, s => s.JoinAsync(guesser, JoinCodes.Generate(), None)));
        }

        var eleventh = await WithServiceAsync(App, s => s.JoinAsync(guesser, JoinCodes.Generate(), None));
        var valid = await WithServiceAsync(App, s => s.JoinAsync(guesser, course.JoinCode, None));
        var other = await WithServiceAsync(App, s => s.JoinAsync(classmate, course.JoinCode, None));

        Assert.All(failures, f => Assert.StartsWith("no course has this join code", f.Error, StringComparison.Ordinal));
        Assert.Equal("too many attempts with unknown join codes: try again in 15 minutes.", eleventh.Error);
        Assert.Equal(eleventh.Error, valid.Error);
        Assert.Null(await WithServiceAsync(App, s => s.FindAsync(guesser, course.Id, None)));
        Assert.True(other.Succeeded, other.Error);
        // Refused attempts are not counted: the user's rows stay at the limit.
        Assert.Equal(10, await JoinFailuresAsync(guesserUser.Id));
        var lockedOut = await IrisIde.Tests.Audit.AuditTestSupport.WaitForAsync(App, e => e.Action == IrisIde.Web.Audit.AuditActions.CourseJoinLockedOut && e.ActorId == guesserUser.Id);
        await IrisIde.Tests.Audit.AuditTestSupport.DrainAsync(App.Services);
        Assert.Single(await IrisIde.Tests.Audit.AuditTestSupport.AllAsync(App.Services), e => e.Action == IrisIde.Web.Audit.AuditActions.CourseJoinLockedOut && e.ActorId == guesserUser.Id);
        Assert.Equal(IrisIde.Web.Audit.AuditOutcome.Failure, lockedOut[0].Outcome);
        Assert.StartsWith("10 unknown join codes within 15 min; joins refused until ", lockedOut[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_lock_lasts_until_the_oldest_counted_failure_leaves_the_window_and_old_failures_do_not_count()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (expiredUser, expired) = await UserAsync(App, IrisRoles.Student, "expired");
        var (almostUser, almost) = await UserAsync(App, IrisRoles.Student, "almost");
        var (nineUser, nine) = await UserAsync(App, IrisRoles.Student, "nine");
        var course = await CreateAsync(App, instructor);
        var now = DateTime.UtcNow;
        await AddJoinFailuresAsync(expiredUser.Id, now.AddMinutes(-16), 10);
        // Nine in the window and one from long ago: the oldest of the ten that count is 14.5 minutes old.
        await AddJoinFailuresAsync(almostUser.Id, now.AddMinutes(-14.5), 1);
        await AddJoinFailuresAsync(almostUser.Id, now.AddMinutes(-2), 9);
        await AddJoinFailuresAsync(nineUser.Id, now.AddMinutes(-30), 2);
        await AddJoinFailuresAsync(nineUser.Id, now.AddMinutes(-1), 9);

        var afterWindow = await WithServiceAsync(App, s => s.JoinAsync(expired, course.JoinCode, None));
        var lockedAlmostDone = await WithServiceAsync(App, s => s.JoinAsync(almost, course.JoinCode, None));
        var tenth = await WithServiceAsync(App, s => s.JoinAsync(nine, "zzzz-zzzz-zzzz", None));
        var afterTenth = await WithServiceAsync(App, s => s.JoinAsync(nine, course.JoinCode, None));

        Assert.True(afterWindow.Succeeded, afterWindow.Error);
        Assert.Equal("too many attempts with unknown join codes: try again in 1 minute.", lockedAlmostDone.Error);
        Assert.StartsWith("no course has this join code", tenth.Error, StringComparison.Ordinal);
        Assert.StartsWith("too many attempts with unknown join codes: try again in ", afterTenth.Error, StringComparison.Ordinal);
        // Recording a failure drops the user's failures that no longer count.
        Assert.Equal(10, await JoinFailuresAsync(nineUser.Id));
    }

    private async Task<int> JoinFailuresAsync(string userId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        return await db.CourseJoinFailures.CountAsync(f => f.UserId == userId).WaitAsync(AccountTestClient.Timeout);
    }

    private async Task AddJoinFailuresAsync(string userId, DateTime atUtc, int count)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        db.CourseJoinFailures.AddRange(Enumerable.Range(0, count).Select(i => new CourseJoinFailure { UserId = userId, AtUtc = atUtc.AddSeconds(i) }));
        await db.SaveChangesAsync().WaitAsync(AccountTestClient.Timeout);
    }

    [Fact]
    public async Task A_run_names_a_course_of_its_user_or_is_refused_alike_for_unknown_and_foreign_ids()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (outsider, _) = await UserAsync(App, IrisRoles.Student, "outsider");
        var course = await CreateAsync(App, instructor);

        var foreign = await WithServiceAsync(App, s => s.ForRunAsync(outsider.Id, course.Id.ToString(), None));
        var missing = await WithServiceAsync(App, s => s.ForRunAsync(outsider.Id, Guid.Empty.ToString(), None));
        var malformed = await WithServiceAsync(App, s => s.ForRunAsync(outsider.Id, "cs101", None));
        var anonymous = await WithServiceAsync(App, s => s.ForRunAsync(null, course.Id.ToString(), None));

        Assert.Equal($"no course '{course.Id}' of yours", foreign.Error);
        Assert.Equal($"no course '{Guid.Empty}' of yours", missing.Error);
        Assert.Equal("no course 'cs101' of yours", malformed.Error);
        Assert.Equal("runs in a course need a sign-in", anonymous.Error);
    }
}

public sealed class SqliteCourseServiceTests(CoursesAppFixture fixture) : CourseServiceTests, IClassFixture<CoursesAppFixture>
{
    protected override IrisWebApp App => fixture.App;
}

[Trait("Needs", "Postgres")]
public sealed class PostgresCourseServiceTests(PostgresCoursesAppFixture fixture) : CourseServiceTests, IClassFixture<PostgresCoursesAppFixture>
{
    protected override IrisWebApp App => fixture.App;
}
