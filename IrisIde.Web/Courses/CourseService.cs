using System.Globalization;
using System.Security.Claims;
using IrisIde.Execution.Runs;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Courses;

/// <summary>Who acts on a course: a user (with the name the audit log shows), and whether they hold a global role that matters here.</summary>
public sealed record CourseActor(string UserId, bool IsAdmin, bool IsGlobalInstructor, string? Name = null)
{
    public static CourseActor? Of(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true && user.FindFirstValue(ClaimTypes.NameIdentifier) is { Length: > 0 } id
            ? new CourseActor(id, user.IsInRole(IrisRoles.Admin), user.IsInRole(IrisRoles.Instructor), user.Identity.Name)
            : null;

    public AuditActor Audit => AuditActor.User(UserId, Name);

    /// <summary>Global instructors and admins create courses.</summary>
    public bool MayCreateCourses => IsAdmin || IsGlobalInstructor;
}

/// <summary>A course as one actor may see it: their role in it (null for an admin who is not a member).</summary>
public sealed record CourseView(Course Course, CourseRole? Role, bool IsAdmin)
{
    /// <summary>Course instructors and admins manage the course: roster, roles, join code, settings, archive, tokens.</summary>
    public bool MayManage => IsAdmin || Role == CourseRole.Instructor;

    /// <summary>Teaching assistants see the roster too, read-only.</summary>
    public bool MaySeeRoster => MayManage || Role == CourseRole.TeachingAssistant;
}

/// <summary>A roster row as the course page shows it.</summary>
public sealed record CourseMemberView(string UserId, string Email, CourseRole Role, DateTime JoinedAtUtc);

/// <summary>An error to show, or success (with the course when there is one).</summary>
public sealed record CourseResult(string? Error, Course? Course = null)
{
    public bool Succeeded => Error is null;

    public static CourseResult Fail(string error) => new(error);
}

/// <summary>One line of a roster file the import could not use, by its 1-based line number.</summary>
public sealed record RosterProblem(int Line, string Text, string Reason);

/// <summary>What a roster import did: who was added, who already was a member, which emails have no account, which lines were bad.</summary>
public sealed record RosterImportResult(
    string? Error,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> AlreadyMembers,
    IReadOnlyList<RosterProblem> UnknownEmails,
    IReadOnlyList<RosterProblem> BadRows)
{
    public static RosterImportResult Fail(string error) => new(error, [], [], [], []);
}

/// <summary>
/// The settings an instructor edits: languages offered, limits, and how long the course's runs keep their
/// transcripts and files; null or empty means the server's default.
/// </summary>
public sealed record CourseSettings(
    IReadOnlyList<string>? Languages,
    double? WallSeconds,
    double? CpuSeconds,
    long? MemoryBytes,
    int? RunsPerMinutePerUser,
    int? MaxSessionsPerUser,
    int? HistoryRetentionDays = null);

/// <summary>
/// Courses and their members: creating and editing, joining by code (limited, see <see cref="JoinAttemptLimit"/>),
/// the roster (roles, removal, CSV import), the join code, settings, archiving and un-archiving. Every method that acts on a course takes the actor and checks what they may do, so a
/// page cannot forget: a course the actor is not in (and is not admin for) is "not found", whatever its id.
/// </summary>
public sealed class CourseService(
    IrisDbContext db,
    TimeProvider time,
    IOptions<ExecutionOptions> execution,
    IOptions<IrisIde.Execution.Admission.AdmissionOptions> admission,
    IrisIde.Execution.Languages.LanguageCatalog catalog,
    AuditRecorder audit,
    JoinAttemptLimit joinLimit,
    ILogger<CourseService> logger)
{
    public const int MaxRosterBytes = 256 * 1024;

    public const int MaxRosterRows = 2000;

    public const string NotFound = "no such course.";

    public async Task<CourseResult> CreateAsync(CourseActor actor, string? name, string? code, string? term, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (!actor.MayCreateCourses)
        {
            return CourseResult.Fail("only instructors and admins create courses.");
        }

        if (CheckDetails(name, code, term) is { } error)
        {
            return CourseResult.Fail(error);
        }

        var now = time.GetUtcNow().UtcDateTime;
        var course = new Course
        {
            Id = Guid.CreateVersion7(),
            Name = name!.Trim(),
            Code = code!.Trim(),
            Term = term!.Trim(),
            JoinCode = JoinCodes.Generate(),
            CreatedAtUtc = now,
        };
        db.Courses.Add(course);
        db.CourseMembers.Add(new CourseMember { CourseId = course.Id, UserId = actor.UserId, Role = CourseRole.Instructor, JoinedAtUtc = now });
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.Created(logger, actor.UserId, course.Id);
        audit.Record(AuditActions.CourseCreated, actor.Audit, Target(course), detail: $"{course.Name} ({course.Term})");
        return new CourseResult(null, course);
    }

    /// <summary>
    /// Renames the course, or corrects its code or term, under the rules of <see cref="CreateAsync"/>; the join code,
    /// roster and settings stay. An archived course is read-only: un-archive it first.
    /// </summary>
    public async Task<CourseResult> UpdateAsync(CourseActor actor, Guid courseId, string? name, string? code, string? term, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        if (CheckDetails(name, code, term) is { } detailsError)
        {
            return CourseResult.Fail(detailsError);
        }

        // The target names the course as it was, so the entry is found under the old code too.
        var target = Target(course);
        var before = $"{course.Code} {course.Name} ({course.Term})";
        course.Name = name!.Trim();
        course.Code = code!.Trim();
        course.Term = term!.Trim();
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.Updated(logger, actor.UserId, courseId);
        audit.Record(AuditActions.CourseUpdated, actor.Audit, target, detail: $"{before} -> {course.Code} {course.Name} ({course.Term})");
        return new CourseResult(null, course);
    }

    /// <summary>The actor's courses with their role, newest first; archived ones included (they stay readable).</summary>
    public async Task<IReadOnlyList<CourseView>> ListMineAsync(CourseActor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var rows = await (from m in db.CourseMembers.AsNoTracking()
                          join c in db.Courses.AsNoTracking() on m.CourseId equals c.Id
                          where m.UserId == actor.UserId
                          select new { Course = c, m.Role }).ToListAsync(cancellationToken);
        return [.. rows.OrderByDescending(r => r.Course.CreatedAtUtc).Select(r => new CourseView(r.Course, r.Role, actor.IsAdmin))];
    }

    /// <summary>Every course, for admins; empty for anyone else.</summary>
    public async Task<IReadOnlyList<Course>> ListAllAsync(CourseActor actor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (!actor.IsAdmin)
        {
            return [];
        }

        var all = await db.Courses.AsNoTracking().ToListAsync(cancellationToken);
        return [.. all.OrderByDescending(c => c.CreatedAtUtc)];
    }

    /// <summary>The course as <paramref name="actor"/> may see it; null when it does not exist or they are neither a member nor an admin.</summary>
    public async Task<CourseView?> FindAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var course = await db.Courses.AsNoTracking().SingleOrDefaultAsync(c => c.Id == courseId, cancellationToken);
        if (course is null)
        {
            return null;
        }

        var member = await db.CourseMembers.AsNoTracking().SingleOrDefaultAsync(m => m.CourseId == courseId && m.UserId == actor.UserId, cancellationToken);
        return member is null && !actor.IsAdmin ? null : new CourseView(course, member?.Role, actor.IsAdmin);
    }

    /// <summary>Joins the course whose join code <paramref name="typedCode"/> is, as a student.</summary>
    public async Task<CourseResult> JoinAsync(CourseActor actor, string? typedCode, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(actor);
        // Checked before the code is looked at: while locked out, a right guess must not be told apart from a wrong one.
        if (await joinLimit.LockedUntilAsync(actor.UserId, cancellationToken) is { } until)
        {
            CoursesLog.JoinRefusedWhileLocked(logger, actor.UserId);
            return CourseResult.Fail(joinLimit.Refusal(until));
        }

        var code = JoinCodes.Normalize(typedCode);
        var course = code is null ? null : await db.Courses.AsNoTracking().SingleOrDefaultAsync(c => c.JoinCode == code, cancellationToken);
        if (course is null)
        {
            CoursesLog.UnknownJoinCode(logger);
            await joinLimit.RecordFailureAsync(actor, cancellationToken);
            return CourseResult.Fail("no course has this join code; check it with your instructor (it looks like abcd-efgh-jkmn).");
        }

        if (course.IsArchived)
        {
            return CourseResult.Fail($"{course.Code} {course.Name} is archived: it takes no new members.");
        }

        if (await db.CourseMembers.AnyAsync(m => m.CourseId == course.Id && m.UserId == actor.UserId, cancellationToken))
        {
            return CourseResult.Fail($"you are already a member of {course.Code} {course.Name}.");
        }

        db.CourseMembers.Add(new CourseMember { CourseId = course.Id, UserId = actor.UserId, Role = CourseRole.Student, JoinedAtUtc = time.GetUtcNow().UtcDateTime });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same user joining twice at once (a double click): the key (course, user) lets one in.
            db.ChangeTracker.Clear();
            return CourseResult.Fail($"you are already a member of {course.Code} {course.Name}.");
        }

        CoursesLog.Joined(logger, actor.UserId, course.Id);
        return new CourseResult(null, course);
    }

    /// <summary>The roster, by email; for course staff (TAs, instructors) and admins only.</summary>
    public async Task<IReadOnlyList<CourseMemberView>?> RosterAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken)
    {
        if (await FindAsync(actor, courseId, cancellationToken) is not { MaySeeRoster: true })
        {
            return null;
        }

        var rows = await (from m in db.CourseMembers.AsNoTracking()
                          join u in db.Users.AsNoTracking() on m.UserId equals u.Id
                          where m.CourseId == courseId
                          select new CourseMemberView(m.UserId, u.Email ?? u.UserName ?? u.Id, m.Role, m.JoinedAtUtc)).ToListAsync(cancellationToken);
        return [.. rows.OrderBy(r => r.Role).ThenBy(r => r.Email, StringComparer.OrdinalIgnoreCase)];
    }

    public async Task<CourseResult> SetRoleAsync(CourseActor actor, Guid courseId, string userId, CourseRole role, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        var member = await db.CourseMembers.SingleOrDefaultAsync(m => m.CourseId == courseId && m.UserId == userId, cancellationToken);
        if (member is null)
        {
            return CourseResult.Fail("no such member.");
        }

        if (member.Role == CourseRole.Instructor && role != CourseRole.Instructor && await IsLastInstructorAsync(courseId, cancellationToken))
        {
            return CourseResult.Fail("the course's last instructor cannot be demoted: make someone else instructor first.");
        }

        var previous = member.Role;
        member.Role = role;
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.RoleChanged(logger, actor.UserId, courseId, userId, role);
        audit.Record(AuditActions.CourseRoleChanged, actor.Audit, $"user {userId} in {Target(course)}", detail: $"{previous} -> {role}");
        return new CourseResult(null, course);
    }

    public async Task<CourseResult> RemoveAsync(CourseActor actor, Guid courseId, string userId, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        var member = await db.CourseMembers.SingleOrDefaultAsync(m => m.CourseId == courseId && m.UserId == userId, cancellationToken);
        if (member is null)
        {
            return CourseResult.Fail("no such member.");
        }

        if (member.Role == CourseRole.Instructor && await IsLastInstructorAsync(courseId, cancellationToken))
        {
            return CourseResult.Fail("the course's last instructor cannot be removed: make someone else instructor first.");
        }

        db.CourseMembers.Remove(member);
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.StaffAction(logger, actor.UserId, courseId, "remove", userId);
        audit.Record(AuditActions.CourseMemberRemoved, actor.Audit, $"user {userId} in {Target(course)}", detail: $"was {member.Role}");
        return new CourseResult(null, course);
    }

    /// <summary>A new join code; the old one stops working at once (for a code that leaked).</summary>
    public async Task<CourseResult> RegenerateJoinCodeAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        course.JoinCode = JoinCodes.Generate();
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.StaffAction(logger, actor.UserId, courseId, "regenerate", "join code");
        audit.Record(AuditActions.CourseJoinCodeRegenerated, actor.Audit, Target(course));
        return new CourseResult(null, course);
    }

    /// <summary>Archives the course: no new runs, no joins, no changes; the roster stays readable.</summary>
    public async Task<CourseResult> ArchiveAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        course.ArchivedAtUtc = time.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.StaffAction(logger, actor.UserId, courseId, "archive", "course");
        audit.Record(AuditActions.CourseArchived, actor.Audit, Target(course));
        return new CourseResult(null, course);
    }

    /// <summary>Makes an archived course active again: joins, runs and changes are allowed as before it was archived.</summary>
    public async Task<CourseResult> UnarchiveAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken, allowArchived: true);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        if (!course.IsArchived)
        {
            return CourseResult.Fail("the course is not archived.");
        }

        var archivedAt = course.ArchivedAtUtc!.Value;
        course.ArchivedAtUtc = null;
        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.StaffAction(logger, actor.UserId, courseId, "unarchive", "course");
        audit.Record(AuditActions.CourseUnarchived, actor.Audit, Target(course), detail: $"archived since {archivedAt:yyyy-MM-dd HH:mm} UTC");
        return new CourseResult(null, course);
    }

    /// <summary>
    /// Sets the languages offered (catalogue ids or aliases; none offers all) and the limits (each clamped to the
    /// server's maximum; zero or negative is an error, not "unlimited").
    /// </summary>
    public async Task<CourseResult> UpdateSettingsAsync(CourseActor actor, Guid courseId, CourseSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return CourseResult.Fail(error!);
        }

        var ids = new List<string>();
        foreach (var name in settings.Languages ?? [])
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                continue;
            }

            if (!catalog.TryResolve(name.Trim(), out var language))
            {
                return CourseResult.Fail($"unknown language '{Shorten(name.Trim())}': use ids of GET /api/v1/languages ({string.Join(", ", catalog.All.Select(l => l.Id))}).");
            }

            if (!ids.Contains(language.Id, StringComparer.Ordinal))
            {
                ids.Add(language.Id);
            }
        }

        var max = execution.Value.Maximum;
        var caps = admission.Value;
        var limitError = Positive(settings.WallSeconds, "wall time") ?? Positive(settings.CpuSeconds, "CPU time") ?? Positive(settings.MemoryBytes, "memory")
            ?? Positive(settings.RunsPerMinutePerUser, "runs per minute") ?? Positive(settings.MaxSessionsPerUser, "sessions");
        if (limitError is not null)
        {
            return CourseResult.Fail(limitError);
        }

        if (settings.WallSeconds < RunPipeline.MinimumSeconds || settings.CpuSeconds < RunPipeline.MinimumSeconds)
        {
            return CourseResult.Fail($"wall and CPU time must be at least {RunPipeline.MinimumSeconds.ToString(CultureInfo.InvariantCulture)} s.");
        }

        if (settings.MemoryBytes < RunPipeline.MinimumMemoryBytes)
        {
            return CourseResult.Fail($"memory must be at least {RunPipeline.MinimumMemoryBytes / (1024 * 1024)} MiB.");
        }

        if (settings.HistoryRetentionDays is < 1 or > Course.MaxHistoryRetentionDays)
        {
            return CourseResult.Fail($"runs are kept from 1 to {Course.MaxHistoryRetentionDays} days (leave it empty for the server's default).");
        }

        course.Languages = ids.Count == 0 ? null : string.Join(' ', ids);
        course.WallSeconds = settings.WallSeconds is { } wall ? Math.Min(wall, max.WallSeconds) : null;
        course.CpuSeconds = settings.CpuSeconds is { } cpu ? Math.Min(cpu, max.CpuSeconds) : null;
        course.MemoryBytes = settings.MemoryBytes is { } memory ? Math.Min(memory, max.MemoryBytes) : null;
        course.RunsPerMinutePerUser = settings.RunsPerMinutePerUser is { } rate ? Math.Min(rate, caps.RunsPerMinutePerClient) : null;
        course.MaxSessionsPerUser = settings.MaxSessionsPerUser is { } sessions ? Math.Min(sessions, caps.MaxSessionsPerClient) : null;
        course.HistoryRetentionDays = settings.HistoryRetentionDays;
        if (course.Languages?.Length > Course.MaxLanguagesLength)
        {
            return CourseResult.Fail("too many languages.");
        }

        await db.SaveChangesAsync(cancellationToken);
        CoursesLog.StaffAction(logger, actor.UserId, courseId, "settings", "course");
        audit.Record(AuditActions.CourseSettingsChanged, actor.Audit, Target(course));
        return new CourseResult(null, course);

        static string? Positive(double? value, string what) =>
            value is { } v && (double.IsNaN(v) || v <= 0) ? $"the {what} limit must be positive (leave it empty for the server's default)." : null;
    }

    /// <summary>
    /// Adds the users of a CSV roster as students: one email per line in the first column; a header line
    /// <c>email</c> and blank lines are skipped, further columns ignored. Emails without an account are reported
    /// back, not created: accounts come from the admin (or single sign-on), never from a file.
    /// </summary>
    public async Task<RosterImportResult> ImportRosterAsync(CourseActor actor, Guid courseId, string? csv, CancellationToken cancellationToken)
    {
        var (course, error) = await ManagedAsync(actor, courseId, cancellationToken);
        if (course is null)
        {
            return RosterImportResult.Fail(error!);
        }

        if (string.IsNullOrWhiteSpace(csv))
        {
            return RosterImportResult.Fail("the roster file is empty.");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(csv) > MaxRosterBytes)
        {
            return RosterImportResult.Fail($"the roster file is too large: at most {MaxRosterBytes / 1024} KiB.");
        }

        var lines = csv.Split('\n');
        var badRows = new List<RosterProblem>();
        var wanted = new List<(int Line, string Email)>();
        var emailRule = new System.ComponentModel.DataAnnotations.EmailAddressAttribute();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var first = line.Split(',', 2)[0].Trim().Trim('"').Trim();
            if (first.Length == 0 || (wanted.Count == 0 && badRows.Count == 0 && string.Equals(first, "email", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            if (first.Length > 256 || !emailRule.IsValid(first))
            {
                badRows.Add(new RosterProblem(i + 1, Shorten(line), "not an email address"));
                continue;
            }

            wanted.Add((i + 1, first));
        }

        // Rows that are not blank and not the header; the size cap above already bounds the work of counting them.
        if (wanted.Count + badRows.Count > MaxRosterRows)
        {
            return RosterImportResult.Fail($"the roster has too many lines: at most {MaxRosterRows} students per import.");
        }

        var normalized = wanted.Select(w => w.Email.ToUpperInvariant()).Distinct().ToList();
        var users = await db.Users.AsNoTracking()
            .Where(u => u.NormalizedEmail != null && normalized.Contains(u.NormalizedEmail))
            .Select(u => new { u.Id, u.NormalizedEmail, u.Email })
            .ToListAsync(cancellationToken);
        var byEmail = users.ToDictionary(u => u.NormalizedEmail!, StringComparer.Ordinal);
        var ids = users.Select(u => u.Id).ToList();
        var members = (await db.CourseMembers.AsNoTracking()
            .Where(m => m.CourseId == courseId && ids.Contains(m.UserId))
            .Select(m => m.UserId)
            .ToListAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);

        var added = new List<string>();
        var already = new List<string>();
        var unknown = new List<RosterProblem>();
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var (line, email) in wanted)
        {
            if (!byEmail.TryGetValue(email.ToUpperInvariant(), out var user))
            {
                unknown.Add(new RosterProblem(line, email, "no account with this email"));
            }
            else if (!members.Add(user.Id))
            {
                already.Add(user.Email ?? email);
            }
            else
            {
                db.CourseMembers.Add(new CourseMember { CourseId = courseId, UserId = user.Id, Role = CourseRole.Student, JoinedAtUtc = now });
                added.Add(user.Email ?? email);
            }
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Someone joined by code between the member check and the insert: nothing of this import was saved.
            db.ChangeTracker.Clear();
            return RosterImportResult.Fail("the roster changed while importing (someone joined meanwhile); import the file again.");
        }

        CoursesLog.RosterImported(logger, actor.UserId, courseId, added.Count);
        audit.Record(AuditActions.CourseRosterImported, actor.Audit, Target(course),
            detail: string.Create(CultureInfo.InvariantCulture, $"{added.Count} added, {already.Count} already members, {unknown.Count} without an account, {badRows.Count} bad rows"));
        return new RosterImportResult(null, added, already, unknown, badRows);
    }

    /// <summary>
    /// The course a run of <paramref name="userId"/> belongs to, from the id the client sent: it must exist, the
    /// user must be a member (any role), and it must not be archived. One message for "no such course" and "not
    /// yours", so ids reveal nothing.
    /// </summary>
    public async Task<(Course? Course, string? Error)> ForRunAsync(string? userId, string? courseId, CancellationToken cancellationToken)
    {
        if (userId is null)
        {
            return (null, "runs in a course need a sign-in");
        }

        if (!Guid.TryParse(courseId, out var id))
        {
            return (null, $"no course '{Shorten(courseId ?? "")}' of yours");
        }

        var course = await db.Courses.AsNoTracking().SingleOrDefaultAsync(c => c.Id == id, cancellationToken);
        if (course is null || !await db.CourseMembers.AnyAsync(m => m.CourseId == id && m.UserId == userId, cancellationToken))
        {
            return (null, $"no course '{Shorten(courseId!)}' of yours");
        }

        if (course.IsArchived)
        {
            CoursesLog.RunRefused(logger, id, "archived");
            return (null, $"the course {course.Code} is archived: it takes no new runs");
        }

        return (course, null);
    }

    private async Task<(Course? Course, string? Error)> ManagedAsync(CourseActor actor, Guid courseId, CancellationToken cancellationToken, bool allowArchived = false)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var view = await FindAsync(actor, courseId, cancellationToken);
        if (view is null)
        {
            return (null, NotFound);
        }

        if (!view.MayManage)
        {
            return (null, "only the course's instructors manage it.");
        }

        if (view.Course.IsArchived && !allowArchived)
        {
            return (null, "the course is archived: it is read-only (un-archive it first).");
        }

        // Tracked, for the change the caller makes.
        return (await db.Courses.SingleAsync(c => c.Id == courseId, cancellationToken), null);
    }

    private async Task<bool> IsLastInstructorAsync(Guid courseId, CancellationToken cancellationToken) =>
        await db.CourseMembers.CountAsync(m => m.CourseId == courseId && m.Role == CourseRole.Instructor, cancellationToken) <= 1;

    private static string Target(Course course) => $"course {course.Code} {course.Term} ({course.Id})";

    /// <summary>The same rules for creating and editing: every part given, none too long, no control characters.</summary>
    private static string? CheckDetails(string? name, string? code, string? term) =>
        CheckText(name, "name", Course.MaxNameLength) ?? CheckText(code, "code", Course.MaxCodeLength) ?? CheckText(term, "term", Course.MaxTermLength);

    private static string? CheckText(string? value, string what, int max) =>
        string.IsNullOrWhiteSpace(value) ? $"the course needs a {what}."
        : value.Trim().Length > max ? $"the {what} is too long: at most {max} characters."
        : value.Any(char.IsControl) ? $"the {what} must not contain control characters."
        : null;

    private static string Shorten(string value) => value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "…");
}
