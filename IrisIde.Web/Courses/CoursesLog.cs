namespace IrisIde.Web.Courses;

// Courses: 6200-6219. Ids of courses and users, never join codes (a code in a log would let its reader join).
internal static partial class CoursesLog
{
    [LoggerMessage(EventId = 6200, Level = LogLevel.Information, Message = "User {UserId} created course {CourseId}")]
    public static partial void Created(ILogger logger, string userId, Guid courseId);

    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "User {UserId} joined course {CourseId} by join code")]
    public static partial void Joined(ILogger logger, string userId, Guid courseId);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "{ActorId} in course {CourseId}: {Action} {Subject}")]
    public static partial void StaffAction(ILogger logger, string actorId, Guid courseId, string action, string subject);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Warning, Message = "Join refused: unknown join code")]
    public static partial void UnknownJoinCode(ILogger logger);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Information, Message = "Run in course {CourseId} refused: {Reason}")]
    public static partial void RunRefused(ILogger logger, Guid courseId, string reason);

    [LoggerMessage(EventId = 6205, Level = LogLevel.Information, Message = "{ActorId} in course {CourseId}: user {UserId} is now {Role}")]
    public static partial void RoleChanged(ILogger logger, string actorId, Guid courseId, string userId, CourseRole role);

    [LoggerMessage(EventId = 6206, Level = LogLevel.Information, Message = "{ActorId} in course {CourseId}: roster import added {Added} students")]
    public static partial void RosterImported(ILogger logger, string actorId, Guid courseId, int added);

    [LoggerMessage(EventId = 6207, Level = LogLevel.Warning, Message = "User {UserId} typed {Count} unknown join codes: joins refused until {UntilUtc:u}")]
    public static partial void JoinLockedOut(ILogger logger, string userId, int count, DateTime untilUtc);

    [LoggerMessage(EventId = 6208, Level = LogLevel.Information, Message = "Join of user {UserId} refused: locked out after unknown join codes")]
    public static partial void JoinRefusedWhileLocked(ILogger logger, string userId);

    [LoggerMessage(EventId = 6209, Level = LogLevel.Information, Message = "{ActorId} in course {CourseId}: name, code and term changed")]
    public static partial void Updated(ILogger logger, string actorId, Guid courseId);
}
