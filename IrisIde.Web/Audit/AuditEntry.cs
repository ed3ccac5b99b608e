using System.Security.Claims;

namespace IrisIde.Web.Audit;

/// <summary>
/// One security-relevant action as the audit log keeps it. Never a secret: no password, token or set-up link
/// is ever put here (<see cref="AuditRecorder"/> also cuts anything shaped like a token out of the text).
/// </summary>
public sealed class AuditEntry
{
    public const int MaxActorLength = 256;

    public const int MaxTargetLength = 256;

    public const int MaxDetailLength = 500;

    public long Id { get; set; }

    public DateTime AtUtc { get; set; }

    /// <summary>The acting user's id; null for <c>anonymous</c>, <c>system</c> and <c>cli</c>.</summary>
    public string? ActorId { get; set; }

    /// <summary>The acting user's email, or <c>anonymous</c>, <c>system</c>, <c>cli</c>.</summary>
    public required string Actor { get; set; }

    /// <summary>One of <see cref="AuditActions"/>.</summary>
    public required string Action { get; set; }

    /// <summary>What was acted on: a user's email, <c>token &lt;id&gt;</c>, a run id.</summary>
    public string? Target { get; set; }

    public string? ClientIp { get; set; }

    public AuditOutcome Outcome { get; set; }

    /// <summary>A short explanation (a reason, a role change, a count); at most <see cref="MaxDetailLength"/> characters.</summary>
    public string? Detail { get; set; }
}

public enum AuditOutcome
{
    Success,

    Failure,

    /// <summary>Several refused attempts counted as one entry (see <see cref="AuditRecorder.RecordRefusal"/>).</summary>
    Aggregated,
}

/// <summary>Who acted: a user (id and email), or one of the fixed names.</summary>
public sealed record AuditActor(string? UserId, string Name)
{
    public static readonly AuditActor Anonymous = new(null, "anonymous");

    /// <summary>The server itself: retention, a provider's claims changing a role.</summary>
    public static readonly AuditActor System = new(null, "system");

    /// <summary>The <c>iris admin</c> commands: whoever has a shell on the server.</summary>
    public static readonly AuditActor CommandLine = new(null, "cli");

    public static AuditActor User(string userId, string? email) => new(userId, email ?? userId);

    /// <summary>The signed-in user of a request (cookie or token); anonymous when nobody is signed in.</summary>
    public static AuditActor Of(ClaimsPrincipal? principal) =>
        principal?.FindFirstValue(ClaimTypes.NameIdentifier) is { } id ? User(id, principal.Identity?.Name) : Anonymous;
}

/// <summary>The action names the audit log uses; stable, since admins filter and alert on them.</summary>
public static class AuditActions
{
    public const string SignInSucceeded = "signin.succeeded";

    public const string SignInFailed = "signin.failed";

    /// <summary>A sign-in refused because its address failed too often (counted, see <see cref="AuditRecorder.RecordRefusal"/>).</summary>
    public const string SignInThrottled = "signin.throttled";

    public const string LockedOut = "account.locked_out";

    public const string PasswordChanged = "password.changed";

    public const string PasswordReset = "password.reset";

    public const string UserCreated = "user.created";

    public const string UserDisabled = "user.disabled";

    public const string UserEnabled = "user.enabled";

    public const string RoleChanged = "user.role_changed";

    public const string TokenCreated = "token.created";

    public const string TokenRevoked = "token.revoked";

    /// <summary>A presented access token refused (counted, see <see cref="AuditRecorder.RecordRefusal"/>).</summary>
    public const string TokenRefused = "token.refused";

    public const string SessionEndedByAdmin = "session.ended_by_admin";

    public const string AdminSetUp = "setup.admin_created";

    public const string SsoLinked = "sso.linked";

    public const string SsoUnlinked = "sso.unlinked";

    /// <summary>A single sign-on callback the app could not use: forged, replayed, refused at the provider (counted).</summary>
    public const string SsoCallbackFailed = "sso.callback_failed";

    /// <summary>Course staff actions: a course made, a member's course role changed or the member removed, a roster imported, a new join code, archived, new languages or limits.</summary>
    public const string CourseCreated = "course.created";

    public const string CourseRoleChanged = "course.role_changed";

    public const string CourseMemberRemoved = "course.member_removed";

    public const string CourseRosterImported = "course.roster_imported";

    public const string CourseJoinCodeRegenerated = "course.join_code_regenerated";

    public const string CourseArchived = "course.archived";

    public const string CourseSettingsChanged = "course.settings_changed";

    /// <summary>A course's name, code or term edited after creation.</summary>
    public const string CourseUpdated = "course.updated";

    /// <summary>An archived course made active again (joins, runs and changes allowed).</summary>
    public const string CourseUnarchived = "course.unarchived";

    /// <summary>A user's joins refused after too many unknown join codes (see <c>Iris:Courses</c>).</summary>
    public const string CourseJoinLockedOut = "course.join_locked_out";

    public static readonly IReadOnlyList<string> All =
    [
        SignInSucceeded, SignInFailed, SignInThrottled, LockedOut, PasswordChanged, PasswordReset, UserCreated,
        UserDisabled, UserEnabled, RoleChanged, TokenCreated, TokenRevoked, TokenRefused, SessionEndedByAdmin,
        AdminSetUp, SsoLinked, SsoUnlinked, SsoCallbackFailed, CourseCreated, CourseRoleChanged, CourseMemberRemoved,
        CourseRosterImported, CourseJoinCodeRegenerated, CourseArchived, CourseSettingsChanged, CourseUpdated,
        CourseUnarchived, CourseJoinLockedOut,
    ];
}
