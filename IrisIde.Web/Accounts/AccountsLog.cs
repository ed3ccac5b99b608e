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
}
