namespace IrisIde.Web.Accounts;

internal static partial class AccountsLog
{
    // Never the email typed or the password: a failed sign-in's email is often a password typed in the wrong box.
    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Sign-in failed ({Reason})")]
    public static partial void SignInFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Warning, Message = "Sign-in refused: too many failed sign-ins from the client's address")]
    public static partial void SignInThrottled(ILogger logger);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "Admin {AdminId}: {Action} user {UserId}")]
    public static partial void AdminAction(ILogger logger, string adminId, string action, string userId);

    // Token events (6140-6149) carry the token's id, never the token: the id alone opens nothing.
    [LoggerMessage(EventId = 6140, Level = LogLevel.Information, Message = "{ActorId} created access token {TokenId} for user {UserId} (scopes: {Scopes}; expires {ExpiresAtUtc:u})")]
    public static partial void AccessTokenCreated(ILogger logger, string actorId, Guid tokenId, string userId, string scopes, DateTime expiresAtUtc);

    [LoggerMessage(EventId = 6141, Level = LogLevel.Information, Message = "{ActorId} revoked access token {TokenId} of user {UserId}")]
    public static partial void AccessTokenRevoked(ILogger logger, string actorId, Guid tokenId, string userId);

    [LoggerMessage(EventId = 6142, Level = LogLevel.Information, Message = "Access token refused ({Reason}) on {Path}")]
    public static partial void AccessTokenRefused(ILogger logger, string reason, PathString path);

    // Single sign-on (Oidc/): 6150-6159, apart from the ids above so other account features can grow in order.
    [LoggerMessage(EventId = 6150, Level = LogLevel.Information, Message = "Single sign-on: user {UserId} signed in as {Role} (new account: {Created})")]
    public static partial void OidcSignedIn(ILogger logger, string userId, string role, bool created);

    [LoggerMessage(EventId = 6151, Level = LogLevel.Warning, Message = "Single sign-on refused ({Reason}); account {UserId}")]
    public static partial void OidcSignInRefused(ILogger logger, string reason, string? userId);

    [LoggerMessage(EventId = 6152, Level = LogLevel.Warning, Message = "Single sign-on failed at the provider's callback ({FailureType}: {Failure})")]
    public static partial void OidcRemoteFailure(ILogger logger, string failureType, string failure);

    [LoggerMessage(EventId = 6153, Level = LogLevel.Information, Message = "Single sign-on: new account {UserId} as {Role}, linked by issuer and subject")]
    public static partial void OidcAccountCreated(ILogger logger, string userId, string role);

    [LoggerMessage(EventId = 6154, Level = LogLevel.Information, Message = "Single sign-on: user {UserId}'s role changed from {OldRole} to {NewRole} by the provider's claims")]
    public static partial void OidcRoleChanged(ILogger logger, string userId, string oldRole, string newRole);

    [LoggerMessage(EventId = 6156, Level = LogLevel.Information, Message = "Single sign-on: user {UserId} linked their account to the provider")]
    public static partial void OidcLinked(ILogger logger, string userId);

    [LoggerMessage(EventId = 6157, Level = LogLevel.Warning, Message = "Single sign-on: linking refused ({Reason}); account {UserId}")]
    public static partial void OidcLinkRefused(ILogger logger, string reason, string userId);

    [LoggerMessage(EventId = 6158, Level = LogLevel.Information, Message = "Single sign-on: user {UserId} unlinked their account from the provider")]
    public static partial void OidcUnlinked(ILogger logger, string userId);

    [LoggerMessage(EventId = 6155, Level = LogLevel.Error, Message = "Single sign-on could not start: the provider's configuration could not be fetched")]
    public static partial void OidcProviderUnavailable(ILogger logger, Exception exception);
}
