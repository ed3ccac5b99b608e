using System.Security.Claims;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Security;

namespace IrisIde.Web.Courses;

/// <summary>
/// Runs in a course, the same on every surface: which course a run asks for (the client's choice, or the one its
/// course token is bound to), and what the course then imposes: membership, not archived, its languages, its
/// limits (never above the server's maxima, which the pipeline applies after) and its admission caps.
/// </summary>
public sealed class CourseRunPolicy(CourseService courses, LanguageCatalog catalog)
{
    /// <summary>
    /// The course <paramref name="user"/>'s run belongs to: <paramref name="requested"/>, or the course of the
    /// token it came with. A course token cannot run in another course. Returns the course id as text (null: no
    /// course), or a refusal to show.
    /// </summary>
    public static (string? Course, string? Error) Select(ClaimsPrincipal? user, string? requested)
    {
        requested = string.IsNullOrWhiteSpace(requested) ? null : requested.Trim();
        var bound = TokenCourse(user);
        if (bound is null)
        {
            return (requested, null);
        }

        if (requested is not null && !(Guid.TryParse(requested, out var asked) && asked.ToString() == bound))
        {
            return (null, "this access token is bound to one course and cannot start runs in another");
        }

        return (bound, null);
    }

    /// <summary>The course a course token is bound to; null for a cookie or a personal token.</summary>
    public static string? TokenCourse(ClaimsPrincipal? user) =>
        RunAccess.IsAccessToken(user) ? user!.FindFirstValue(AccessTokenDefaults.CourseClaim) : null;

    /// <summary>
    /// The request and owner as the course shapes them; unchanged when the owner names no course. Throws
    /// <see cref="RunValidationException"/> (<see cref="RunRequestError.CourseRefused"/>) with a message for the client.
    /// </summary>
    public async Task<(RunRequest Request, SessionOwner Owner)> ApplyAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(owner);
        if (owner.Course is null)
        {
            return (request, owner);
        }

        var (course, error) = await courses.ForRunAsync(owner.UserId, owner.Course, cancellationToken);
        if (course is null)
        {
            throw new RunValidationException(RunRequestError.CourseRefused, error!);
        }

        var offered = course.LanguageList;
        if (offered.Count > 0 && catalog.TryResolve(request.Language, out var language) && !offered.Contains(language.Id, StringComparer.Ordinal))
        {
            throw new RunValidationException(RunRequestError.CourseRefused,
                $"the course {course.Code} does not offer {language.DisplayName} ('{language.Id}'); it offers {string.Join(", ", offered)}");
        }

        if (offered.Count > 0 && !catalog.TryResolve(request.Language, out _))
        {
            throw new RunValidationException(RunRequestError.UnknownLanguage,
                $"unknown language '{Shorten(request.Language)}'; the course {course.Code} offers {string.Join(", ", offered)}");
        }

        var asked = request.Limits ?? new RunLimitOverrides();
        var batch = request.Mode == RunMode.Batch;
        var limits = asked with
        {
            // An interactive session waits for a person: its wall time is the idle and total limits, not a course's.
            WallSeconds = batch ? Tighter(asked.WallSeconds, course.WallSeconds) : asked.WallSeconds,
            CpuSeconds = Tighter(asked.CpuSeconds, course.CpuSeconds),
            MemoryBytes = Tighter(asked.MemoryBytes, course.MemoryBytes),
        };
        var shaped = request with { Limits = limits == new RunLimitOverrides() ? request.Limits : limits };
        var caps = course.RunsPerMinutePerUser is null && course.MaxSessionsPerUser is null
            ? null
            : new ClientCaps($"course:{course.Id}", course.MaxSessionsPerUser, course.RunsPerMinutePerUser);
        return (shaped, owner with { Course = course.Id.ToString(), Caps = caps });
    }

    private static double? Tighter(double? asked, double? course) =>
        course is { } cap ? asked is { } value && value > 0 ? Math.Min(value, cap) : asked ?? cap : asked;

    private static long? Tighter(long? asked, long? course) =>
        course is { } cap ? asked is { } value && value > 0 ? Math.Min(value, cap) : asked ?? cap : asked;

    private static string Shorten(string value) => value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "…");
}

/// <summary>
/// Puts <see cref="CourseRunPolicy"/> in front of the configured session host (admission included), so the hub and
/// <c>/ws</c> apply a course's rules exactly as the batch submitter does.
/// </summary>
public sealed class CourseSessionHost(ISessionHost inner, IServiceScopeFactory scopes) : ISessionHost
{
    public string Name => inner.Name;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        if (owner.Course is not null)
        {
            await using var scope = scopes.CreateAsyncScope();
            (request, owner) = await scope.ServiceProvider.GetRequiredService<CourseRunPolicy>().ApplyAsync(request, owner, cancellationToken);
        }

        return await inner.StartAsync(request, owner, cancellationToken);
    }

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => inner.GetLanguagesAsync(cancellationToken);
}
