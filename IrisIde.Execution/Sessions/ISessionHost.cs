using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;

namespace IrisIde.Execution.Sessions;

/// <summary>Where a session was asked for; admission counts all surfaces of one client together.</summary>
public enum SessionSurface
{
    /// <summary>The iris-runner protocol at <c>/ws</c> or <c>/run</c>.</summary>
    WebSocket,

    /// <summary>The IDE's execution hub.</summary>
    Hub,

    /// <summary>A batch job.</summary>
    Batch,
}

/// <summary>
/// Who asks for a session. <paramref name="Key"/> is what per-client caps count under: the signed-in
/// user (<c>user:{id}</c>) or, without sign-in, the client's address (<c>ip:{address}</c>).
/// </summary>
/// <param name="Key">The admission key.</param>
/// <param name="UserId">The signed-in user, for the run's record; null when anonymous.</param>
/// <param name="Course">The course the run belongs to, when one exists.</param>
/// <param name="Surface">The surface the request came through.</param>
public sealed record SessionOwner(string Key, string? UserId, string? Course, SessionSurface Surface)
{
    /// <summary>Caps of the course the run belongs to, tighter than the server's per-client ones; null for none.</summary>
    public ClientCaps? Caps { get; init; }

    /// <summary>An owner for code that runs on behalf of nobody in particular (tests, the runner pod's own client).</summary>
    public static SessionOwner System(SessionSurface surface) => new("system", null, null, surface);
}

/// <summary>
/// Per-client caps narrower than the server's (a course's): admission applies the smaller of these and its own.
/// </summary>
/// <param name="Scope">What the caps belong to (<c>course:{id}</c>); starts are counted per client and scope.</param>
/// <param name="MaxSessions">Interactive sessions the client may have open when starting one here; null: the server's cap.</param>
/// <param name="RunsPerMinute">Runs the client may start per minute here; null: the server's rate only.</param>
public sealed record ClientCaps(string Scope, int? MaxSessions, int? RunsPerMinute);

/// <summary>
/// Starts interactive sessions. Implementations: <see cref="LocalSessionHost"/> (the pipeline in this
/// process), and runner-per-session hosts that start a container or pod and relay to it. Admission
/// (<c>AdmittingSessionHost</c>) wraps whichever is configured.
/// </summary>
public interface ISessionHost
{
    /// <summary>The backend's name for logs and the dashboard: <c>local</c>, <c>docker</c>, <c>kubernetes</c>.</summary>
    string Name { get; }

    /// <summary>
    /// Validates and starts <paramref name="request"/> for <paramref name="owner"/>. Throws
    /// <see cref="RunValidationException"/> for a request that cannot run and
    /// <see cref="Admission.SessionRefusedException"/> when admission says no; everything after that is
    /// reported through the session's events.
    /// </summary>
    Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken);

    /// <summary>The languages this backend can run, each with why not when it cannot.</summary>
    Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken);
}
