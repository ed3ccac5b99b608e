namespace IrisIde.Web.Courses;

/// <summary>
/// A course: its members run code in it, under its languages and limits. Archived courses stay readable but
/// take no new runs and no new members. Limits left null take the server's defaults; set ones are clamped to
/// the server's maxima when saved and again when a run uses them (the server's maxima may shrink later).
/// </summary>
public sealed class Course
{
    public const int MaxNameLength = 200;

    public const int MaxCodeLength = 32;

    public const int MaxTermLength = 64;

    public const int MaxLanguagesLength = 1024;

    public Guid Id { get; set; }

    public required string Name { get; set; }

    /// <summary>The short code a university gives it (<c>CS101</c>).</summary>
    public required string Code { get; set; }

    public required string Term { get; set; }

    /// <summary>What a student types to join; random and regenerable (see <see cref="JoinCodes"/>).</summary>
    public required string JoinCode { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime? ArchivedAtUtc { get; set; }

    /// <summary>Catalogue ids of the languages offered, space-separated; null offers every available language.</summary>
    public string? Languages { get; set; }

    /// <summary>Wall time of a batch run in the course (interactive sessions keep their idle and total limits).</summary>
    public double? WallSeconds { get; set; }

    public double? CpuSeconds { get; set; }

    public long? MemoryBytes { get; set; }

    /// <summary>Runs a member may start per minute in this course, at most the server's per-client rate.</summary>
    public int? RunsPerMinutePerUser { get; set; }

    /// <summary>Interactive sessions a member may have open while starting one in this course, at most the server's per-client cap.</summary>
    public int? MaxSessionsPerUser { get; set; }

    /// <summary>The longest a course may keep its runs' transcripts and files: ten years.</summary>
    public const int MaxHistoryRetentionDays = 3650;

    /// <summary>Days the course's run transcripts and files are kept; null takes <c>Iris:History:RetentionDays</c>.</summary>
    public int? HistoryRetentionDays { get; set; }

    public bool IsArchived => ArchivedAtUtc is not null;

    public IReadOnlyList<string> LanguageList => Languages?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];
}

/// <summary>A member's role in one course; independent of the global role.</summary>
public enum CourseRole
{
    Student,
    TeachingAssistant,
    Instructor,
}

/// <summary>A user in a course with a role.</summary>
public sealed class CourseMember
{
    public Guid CourseId { get; set; }

    public required string UserId { get; set; }

    public CourseRole Role { get; set; }

    public DateTime JoinedAtUtc { get; set; }
}

/// <summary>
/// One join attempt with a code that named no course, kept for <see cref="CoursesOptions.JoinLockoutMinutes"/>: in
/// the database, not in memory, so every web replica counts the same attempts (see <see cref="JoinAttemptLimit"/>).
/// </summary>
public sealed class CourseJoinFailure
{
    public long Id { get; set; }

    public required string UserId { get; set; }

    public DateTime AtUtc { get; set; }
}
