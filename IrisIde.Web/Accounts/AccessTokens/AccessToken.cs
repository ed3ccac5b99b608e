namespace IrisIde.Web.Accounts.AccessTokens;

/// <summary>
/// A personal access token as stored: never the secret, only its SHA-256. The secret is 256 random bits, so a
/// plain hash is enough (nothing to brute-force, unlike a password); the id travels inside the token, so a
/// lookup is one primary-key read, never a scan.
/// </summary>
public sealed class AccessToken
{
    public const int MaxNameLength = 100;

    public Guid Id { get; set; }

    public required string UserId { get; set; }

    public required string Name { get; set; }

    /// <summary>SHA-256 of the secret part of the token.</summary>
    public required byte[] SecretHash { get; set; }

    /// <summary>The scopes, space-separated (<c>runs runs:read</c>), as OAuth writes them.</summary>
    public required string Scopes { get; set; }

    public DateTime CreatedAtUtc { get; set; }

    public DateTime ExpiresAtUtc { get; set; }

    public DateTime? LastUsedAtUtc { get; set; }

    public DateTime? RevokedAtUtc { get; set; }

    /// <summary>
    /// A course token (for an autograder): its runs belong to this course, and it cannot start runs in any
    /// other. Null for a personal token.
    /// </summary>
    public Guid? CourseId { get; set; }

    public IReadOnlyList<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
