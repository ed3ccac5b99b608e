using System.Buffers.Text;
using System.Security.Cryptography;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.AccessTokens;

/// <summary>A token just made: the only moment its secret exists outside the holder's hands.</summary>
public sealed record AccessTokenCreated(string Token, AccessToken Stored);

/// <summary>What creating a token did: the token, or an error to show.</summary>
public sealed record AccessTokenResult(string? Error, AccessTokenCreated? Created = null)
{
    public bool Succeeded => Error is null;
}

/// <summary>A presented token that is good: whose it is and what it may do.</summary>
public sealed record AccessTokenGrant(AccessToken Token, IrisUser User);

/// <summary>
/// Personal access tokens: made for a user with scopes and an expiry, listed, revoked, and checked when a
/// client presents one. Shared by the tokens page, <c>iris admin token</c> and the authentication handler.
/// </summary>
/// <remarks>
/// A token reads <c>iris_pat_</c> + the row id (32 hex digits) + <c>_</c> + 43 base64url characters of secret
/// (256 bits from the system's CSPRNG). The prefix makes a leaked token recognisable to secret scanners and
/// to people; the id makes checking one a primary-key read. Only the secret's SHA-256 is stored, compared in
/// constant time.
/// </remarks>
public sealed class AccessTokenService(
    IrisDbContext db,
    UserManager<IrisUser> users,
    IOptions<AccessTokenOptions> options,
    TimeProvider time,
    AuditRecorder audit,
    ILogger<AccessTokenService> logger)
{
    /// <summary>The actor id the <c>iris admin</c> commands pass.</summary>
    public const string CommandLineActor = "admin-command";

    public const string Prefix = "iris_pat_";

    private const int IdChars = 32;

    private const int SecretBytes = 32;

    private const int SecretChars = 43;

    public const int TokenLength = 9 + IdChars + 1 + SecretChars;

    /// <summary>A token's last use is written at most this often, not on every request.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Makes a token for <paramref name="user"/>. Without <paramref name="scopes"/> it gets every scope the user's
    /// role allows; without <paramref name="expiresDays"/> the configured default lifetime.
    /// </summary>
    /// <param name="actorId">Who asked (the user themselves, an admin, or <c>admin-command</c>), for the audit log.</param>
    /// <param name="courseId">Binds the token to a course (a course token: its runs belong to it); the caller checks the user may.</param>
    public async Task<AccessTokenResult> CreateAsync(
        IrisUser user, string name, IReadOnlyCollection<string>? scopes, int? expiresDays, string actorId, CancellationToken cancellationToken, Guid? courseId = null)
    {
        var limits = options.Value;
        name = name.Trim();
        if (name.Length is 0 or > AccessToken.MaxNameLength)
        {
            return new AccessTokenResult($"a token needs a name of 1 to {AccessToken.MaxNameLength} characters.");
        }

        var days = expiresDays ?? limits.DefaultExpiryDays;
        if (days < 1 || days > limits.MaxExpiryDays)
        {
            return new AccessTokenResult($"a token expires after 1 to {limits.MaxExpiryDays} days (asked for {days}); tokens that never expire do not exist.");
        }

        var role = (await users.GetRolesAsync(user)).FirstOrDefault();
        var allowed = AccessTokenScopes.AllowedFor(role);
        var granted = scopes is { Count: > 0 } ? scopes.Distinct(StringComparer.Ordinal).ToList() : [.. allowed];
        if (granted.FirstOrDefault(s => AccessTokenScopes.Parse(s) is null) is { } unknown)
        {
            return new AccessTokenResult($"unknown scope '{unknown}': use {string.Join(" or ", AccessTokenScopes.All)}.");
        }

        if (granted.FirstOrDefault(s => !allowed.Contains(s)) is { } refused)
        {
            return new AccessTokenResult($"the scope '{refused}' is not allowed for a {role?.ToLowerInvariant() ?? "user without a role"}.");
        }

        if (granted.Count == 0)
        {
            return new AccessTokenResult("a token needs at least one scope.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var live = await db.AccessTokens.CountAsync(t => t.UserId == user.Id && t.RevokedAtUtc == null && t.ExpiresAtUtc > now, cancellationToken);
        if (live >= limits.MaxTokensPerUser)
        {
            return new AccessTokenResult($"{user.Email} already has {live} tokens (at most {limits.MaxTokensPerUser}): revoke one first.");
        }

        var secret = new byte[SecretBytes];
        RandomNumberGenerator.Fill(secret);
        var secretText = Base64Url.EncodeToString(secret);
        var stored = new AccessToken
        {
            Id = Guid.CreateVersion7(),
            UserId = user.Id,
            Name = name,
            SecretHash = SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(secretText)),
            Scopes = string.Join(' ', AccessTokenScopes.All.Where(granted.Contains)),
            CreatedAtUtc = now,
            ExpiresAtUtc = now.AddDays(days),
            CourseId = courseId,
        };
        db.AccessTokens.Add(stored);
        await db.SaveChangesAsync(cancellationToken);
        AccountsLog.AccessTokenCreated(logger, actorId, stored.Id, user.Id, stored.Scopes, stored.ExpiresAtUtc);
        audit.Record(AuditActions.TokenCreated, AuditActorOf(actorId, user), $"token {stored.Id:N} of {user.Email}", AuditOutcome.Success,
            $"'{stored.Name}'; scopes {stored.Scopes}; expires {stored.ExpiresAtUtc:yyyy-MM-dd HH:mm} UTC");
        return new AccessTokenResult(null, new AccessTokenCreated($"{Prefix}{stored.Id:N}_{secretText}", stored));
    }

    /// <summary>A user's tokens, newest first, revoked and expired ones included (the page shows why each no longer works).</summary>
    public async Task<IReadOnlyList<AccessToken>> ListAsync(string userId, CancellationToken cancellationToken) =>
        await db.AccessTokens.AsNoTracking()
            .Where(t => t.UserId == userId)
            .OrderByDescending(t => t.CreatedAtUtc)
            .ToListAsync(cancellationToken);

    /// <summary>Every token (or one user's) with its owner's email, newest first: what <c>iris admin token list</c> prints.</summary>
    public async Task<IReadOnlyList<(AccessToken Token, string Owner)>> ListWithOwnersAsync(string? userId, CancellationToken cancellationToken)
    {
        var query = db.AccessTokens.AsNoTracking().Where(t => userId == null || t.UserId == userId);
        var rows = await query
            .Join(db.Users, t => t.UserId, u => u.Id, (t, u) => new { Token = t, u.Email })
            .OrderByDescending(r => r.Token.CreatedAtUtc)
            .ToListAsync(cancellationToken);
        return [.. rows.Select(r => (r.Token, r.Email ?? r.Token.UserId))];
    }

    /// <summary>
    /// Revokes the token <paramref name="id"/>; when <paramref name="ownerId"/> is given, only if it is theirs
    /// (a user revoking from the page). Returns the token, or null when there is no such token (of theirs).
    /// Revoking a revoked token changes nothing.
    /// </summary>
    public async Task<AccessToken?> RevokeAsync(Guid id, string? ownerId, string actorId, CancellationToken cancellationToken)
    {
        var token = await db.AccessTokens.SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        if (token is null || (ownerId is not null && token.UserId != ownerId))
        {
            return null;
        }

        if (token.RevokedAtUtc is null)
        {
            token.RevokedAtUtc = time.GetUtcNow().UtcDateTime;
            await db.SaveChangesAsync(cancellationToken);
            AccountsLog.AccessTokenRevoked(logger, actorId, token.Id, token.UserId);
            var owner = await users.FindByIdAsync(token.UserId);
            audit.Record(AuditActions.TokenRevoked, AuditActorOf(actorId, owner), $"token {token.Id:N} of {owner?.Email ?? token.UserId}", AuditOutcome.Success, $"'{token.Name}'");
        }

        return token;
    }

    private static AuditActor AuditActorOf(string actorId, IrisUser? subject) =>
        actorId == CommandLineActor ? AuditActor.CommandLine
        : subject is not null && actorId == subject.Id ? AuditActor.User(subject.Id, subject.Email)
        : AuditActor.User(actorId, null);

    /// <summary>The row id inside a token (<c>iris_pat_&lt;id&gt;_...</c>) or a bare id (as the list shows it); null if neither.</summary>
    public static Guid? IdOf(string tokenOrId)
    {
        tokenOrId = tokenOrId.Trim();
        if (tokenOrId.StartsWith(Prefix, StringComparison.Ordinal) && tokenOrId.Length > Prefix.Length + IdChars)
        {
            return Guid.TryParseExact(tokenOrId.AsSpan(Prefix.Length, IdChars), "N", out var inToken) ? inToken : null;
        }

        return Guid.TryParse(tokenOrId, out var bare) ? bare : null;
    }

    /// <summary>
    /// Checks a presented token: well-formed, known, the secret matching, not revoked, not expired, and its user
    /// neither disabled nor locked out. Returns the grant, or why not (a reason for the log, never the token).
    /// </summary>
    public async Task<(AccessTokenGrant? Grant, string? Refusal)> CheckAsync(string presented, CancellationToken cancellationToken)
    {
        if (presented.Length != TokenLength || !presented.StartsWith(Prefix, StringComparison.Ordinal) || presented[Prefix.Length + IdChars] != '_'
            || !Guid.TryParseExact(presented.AsSpan(Prefix.Length, IdChars), "N", out var id))
        {
            return (null, "malformed");
        }

        var token = await db.AccessTokens.AsNoTracking().SingleOrDefaultAsync(t => t.Id == id, cancellationToken);
        var presentedHash = SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(presented[(Prefix.Length + IdChars + 1)..]));
        if (token is null || !CryptographicOperations.FixedTimeEquals(presentedHash, token.SecretHash))
        {
            return (null, "unknown");
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (token.RevokedAtUtc is not null)
        {
            return (null, "revoked");
        }

        if (token.ExpiresAtUtc <= now)
        {
            return (null, "expired");
        }

        var user = await users.FindByIdAsync(token.UserId);
        if (user is null || user.IsDisabled)
        {
            return (null, "user disabled");
        }

        if (await users.IsLockedOutAsync(user))
        {
            return (null, "user locked out");
        }

        // A course's service token speaks for the course only while its maker still teaches it.
        if (token.CourseId is { } courseId
            && !await db.CourseMembers.AnyAsync(m => m.CourseId == courseId && m.UserId == token.UserId && m.Role == IrisIde.Web.Courses.CourseRole.Instructor, cancellationToken))
        {
            return (null, "its maker no longer teaches its course");
        }

        if (token.LastUsedAtUtc is not { } lastUsed || now - lastUsed >= LastUsedResolution)
        {
            await db.AccessTokens.Where(t => t.Id == id)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAtUtc, now), cancellationToken);
        }

        return (new AccessTokenGrant(token, user), null);
    }
}
