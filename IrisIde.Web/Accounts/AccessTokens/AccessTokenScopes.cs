namespace IrisIde.Web.Accounts.AccessTokens;

/// <summary>What a token may do. A cookie sign-in may do everything its user's role allows; a token only what it names.</summary>
public static class AccessTokenScopes
{
    /// <summary>Start runs: <c>/ws</c>, <c>/run</c>, the execution hub, <c>POST /run-code</c> and <c>POST /api/v1/runs</c>.</summary>
    public const string Runs = "runs";

    /// <summary>Read one's own runs: <c>GET /results/{task_id}</c>, <c>GET /api/v1/runs</c>, <c>GET /api/v1/runs/{id}</c> and its transcript.</summary>
    public const string RunsRead = "runs:read";

    public static readonly IReadOnlyList<string> All = [Runs, RunsRead];

    /// <summary>
    /// The scopes a user of <paramref name="role"/> may put on a token. Every role runs code and reads its own
    /// runs today; scopes that only some roles get (reading a course's runs) will narrow this.
    /// </summary>
    public static IReadOnlyList<string> AllowedFor(string? role) => role is null ? [] : All;

    /// <summary>The scope spelled exactly (scopes are case-sensitive, as in OAuth); null if unknown.</summary>
    public static string? Parse(string? value) => All.FirstOrDefault(s => string.Equals(s, value, StringComparison.Ordinal));
}
