using System.Security.Claims;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.Oidc;

/// <summary>How linking or unlinking ended, in the words the single sign-on page shows (<c>?link=</c>).</summary>
public enum OidcLinkOutcome
{
    Linked,

    /// <summary>This provider identity is already linked to this account: nothing changed.</summary>
    AlreadyLinked,

    /// <summary>The provider identity belongs to another account here: refused, neither account changes.</summary>
    Taken,

    /// <summary>This account is already linked to another identity of the provider: unlink that first.</summary>
    LinkedToOther,

    /// <summary>The provider's answer could not be used, or the flow was not started by this user.</summary>
    Failed,

    /// <summary>The provider could not be reached to start linking.</summary>
    Unavailable,

    Unlinked,

    /// <summary>The account has no password: unlinking would leave it with no way to sign in.</summary>
    NoPassword,

    NotLinked,
}

/// <summary>
/// Links a signed-in local account to the configured provider, by issuer and subject as
/// <see cref="OidcAccountLinker"/> does for the accounts single sign-on makes, and unlinks it.
/// <para>
/// The user asks from the single sign-on page (a POST with an anti-forgery token), signs in at the provider,
/// and the landing links the identity that came back to the account that asked: the flow carries that
/// account's id, so a landing reached in another session (or after signing in as someone else) links
/// nothing. An identity linked to another account is never moved: that would hand the other account's
/// sign-in to this one. Once linked, signing in through the provider works as for any linked account,
/// the provider's claims setting the role at each such sign-in.
/// </para>
/// </summary>
public sealed class OidcAccountLink(UserManager<IrisUser> users, IOptions<OidcOptions> options, AuditRecorder audit, ILogger<OidcAccountLink> logger)
{
    /// <summary>The authentication property that carries the id of the account that asked to be linked.</summary>
    public const string UserItem = "iris:link_user";

    public async Task<OidcLinkOutcome> LinkAsync(IrisUser user, ClaimsPrincipal external, string? flowUserId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(external);
        cancellationToken.ThrowIfCancellationRequested();
        var actor = AuditActor.User(user.Id, user.Email);
        var subject = external.FindFirst("sub");
        var issuer = external.FindFirstValue("iss") ?? subject?.Issuer;
        if (flowUserId != user.Id || subject is null || string.IsNullOrEmpty(subject.Value) || string.IsNullOrEmpty(issuer))
        {
            var reason = flowUserId != user.Id ? "the flow was started by another sign-in" : "the ID token has no issuer or subject";
            AccountsLog.OidcLinkRefused(logger, reason, user.Id);
            audit.Record(AuditActions.SsoLinked, actor, user.Email, AuditOutcome.Failure, reason);
            return OidcLinkOutcome.Failed;
        }

        if (await users.FindByLoginAsync(issuer, subject.Value) is { } owner)
        {
            if (owner.Id == user.Id)
            {
                return OidcLinkOutcome.AlreadyLinked;
            }

            AccountsLog.OidcLinkRefused(logger, "the identity is linked to another account", user.Id);
            audit.Record(AuditActions.SsoLinked, actor, user.Email, AuditOutcome.Failure, $"the provider identity is already linked to another account ({owner.Email})");
            return OidcLinkOutcome.Taken;
        }

        if ((await users.GetLoginsAsync(user)).Any(l => l.LoginProvider == issuer))
        {
            AccountsLog.OidcLinkRefused(logger, "the account is linked to another identity of the provider", user.Id);
            audit.Record(AuditActions.SsoLinked, actor, user.Email, AuditOutcome.Failure, "already linked to another identity of the provider");
            return OidcLinkOutcome.LinkedToOther;
        }

        var added = await users.AddLoginAsync(user, new UserLoginInfo(issuer, subject.Value, options.Value.DisplayName));
        if (!added.Succeeded)
        {
            // Most likely the same identity linked by a request of another account at the same moment.
            var codes = string.Join(" ", added.Errors.Select(e => e.Code));
            AccountsLog.OidcLinkRefused(logger, "the link could not be stored: " + codes, user.Id);
            audit.Record(AuditActions.SsoLinked, actor, user.Email, AuditOutcome.Failure, "the link could not be stored: " + codes);
            return OidcLinkOutcome.Failed;
        }

        AccountsLog.OidcLinked(logger, user.Id);
        audit.Record(AuditActions.SsoLinked, actor, user.Email, AuditOutcome.Success, $"linked to {options.Value.DisplayName} ({issuer})");
        return OidcLinkOutcome.Linked;
    }

    /// <summary>Removes the account's provider links, if it has a password to sign in with instead.</summary>
    public async Task<OidcLinkOutcome> UnlinkAsync(IrisUser user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(user);
        cancellationToken.ThrowIfCancellationRequested();
        var actor = AuditActor.User(user.Id, user.Email);
        var logins = await users.GetLoginsAsync(user);
        if (logins.Count == 0)
        {
            return OidcLinkOutcome.NotLinked;
        }

        if (!await users.HasPasswordAsync(user))
        {
            audit.Record(AuditActions.SsoUnlinked, actor, user.Email, AuditOutcome.Failure, "the account has no password");
            return OidcLinkOutcome.NoPassword;
        }

        foreach (var login in logins)
        {
            var removed = await users.RemoveLoginAsync(user, login.LoginProvider, login.ProviderKey);
            if (!removed.Succeeded)
            {
                audit.Record(AuditActions.SsoUnlinked, actor, user.Email, AuditOutcome.Failure, string.Join(" ", removed.Errors.Select(e => e.Code)));
                return OidcLinkOutcome.Failed;
            }

            audit.Record(AuditActions.SsoUnlinked, actor, user.Email, AuditOutcome.Success, $"unlinked from {login.ProviderDisplayName ?? "the provider"} ({login.LoginProvider})");
        }

        AccountsLog.OidcUnlinked(logger, user.Id);
        return OidcLinkOutcome.Unlinked;
    }

    /// <summary>The single sign-on page's text for <c>?link=</c>; null for anything else.</summary>
    public static string? MessageFor(string? link) => Enum.TryParse<OidcLinkOutcome>(link, ignoreCase: true, out var outcome) && !int.TryParse(link, out _)
        ? outcome switch
        {
            OidcLinkOutcome.Linked => "Your account is now linked: you can sign in with single sign-on.",
            OidcLinkOutcome.AlreadyLinked => "Your account was already linked to that identity.",
            OidcLinkOutcome.Taken => "That single sign-on identity is already linked to another account here. Nothing was changed; ask an admin if it should be yours.",
            OidcLinkOutcome.LinkedToOther => "Your account is already linked to another single sign-on identity: unlink it first.",
            OidcLinkOutcome.Failed => "Linking did not complete. Try again.",
            OidcLinkOutcome.Unavailable => "The single sign-on provider cannot be reached right now. Try again later.",
            OidcLinkOutcome.Unlinked => "Your account is no longer linked: sign in with your email and password.",
            OidcLinkOutcome.NoPassword => "Your account has no password, so single sign-on is its only way in: it cannot be unlinked.",
            OidcLinkOutcome.NotLinked => "Your account is not linked.",
            _ => null,
        }
        : null;
}
