using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.Oidc;

/// <summary>How a single sign-on ended, in the words the sign-in page shows (<c>?sso=</c>).</summary>
public enum OidcSignInOutcome
{
    SignedIn,

    /// <summary>The provider's answer could not be used: no issuer or subject, no (verified) email, or the provider refused.</summary>
    Failed,

    /// <summary>The linked account is disabled or locked.</summary>
    Refused,

    /// <summary>None of the user's claim values maps to a role and <see cref="OidcOptions.DefaultRole"/> is <c>None</c>.</summary>
    NoRole,

    /// <summary>The provider could not be reached (its discovery document) to start a sign-in.</summary>
    Unavailable,

    /// <summary>A local account already has the email: it is not taken over (see <see cref="OidcAccountLinker"/>).</summary>
    EmailTaken,
}

/// <summary>
/// Turns the provider's verified ID token claims into a sign-in of one of our accounts.
/// <para>
/// An account is linked to the provider by issuer and subject: Identity's external logins table holds the
/// issuer as the login provider and <c>sub</c> as the key, so two providers (or two issuers of one provider)
/// never share an account, and a subject keeps its account whatever email it later shows. Emails never link:
/// a provider whose users can choose their email must not be able to sign in as a local account. So a first
/// sign-in whose email already belongs to an account is refused, and the local account keeps working with
/// its password; an admin who wants that person on single sign-on removes or renames the local account first.
/// </para>
/// <para>
/// The role comes from the claims on every sign-in (the provider is the authority for the accounts it made),
/// so a change there applies at the next sign-in, and at the next security stamp check for open sessions.
/// </para>
/// </summary>
public sealed class OidcAccountLinker(
    UserManager<IrisUser> users,
    SignInManager<IrisUser> signIn,
    IOptions<OidcOptions> options,
    TimeProvider time,
    AuditRecorder audit,
    ILogger<OidcAccountLinker> logger)
{
    /// <summary>The authentication method recorded in the sign-in cookie (<c>amr</c>).</summary>
    public const string AuthenticationMethod = "oidc";

    private static readonly EmailAddressAttribute EmailRule = new();

    public async Task<OidcSignInOutcome> SignInAsync(ClaimsPrincipal external, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(external);
        cancellationToken.ThrowIfCancellationRequested();
        var settings = options.Value;
        var subject = external.FindFirst("sub");
        var issuer = external.FindFirstValue("iss") ?? subject?.Issuer;
        if (subject is null || string.IsNullOrEmpty(subject.Value) || string.IsNullOrEmpty(issuer))
        {
            AccountsLog.OidcSignInRefused(logger, "the ID token has no issuer or subject", null);
            RecordRefused(null, "the ID token has no issuer or subject");
            return OidcSignInOutcome.Failed;
        }

        var role = OidcRoleMap.RoleFor(external.FindAll(settings.RoleClaim).Select(c => c.Value), settings);
        var user = await users.FindByLoginAsync(issuer, subject.Value);
        var created = false;
        if (user is null)
        {
            if (role is null)
            {
                AccountsLog.OidcSignInRefused(logger, "no role maps and the default role is None", null);
                RecordRefused(null, "no role maps and the default role is None");
                return OidcSignInOutcome.NoRole;
            }

            var (outcome, newUser) = await CreateAsync(external, issuer, subject.Value, role, settings, cancellationToken);
            if (newUser is null)
            {
                return outcome;
            }

            user = newUser;
            created = true;
        }
        else
        {
            // The checks of a password sign-in: a disabled or locked account stays out whichever way it comes.
            if (!await signIn.CanSignInAsync(user) || await users.IsLockedOutAsync(user))
            {
                AccountsLog.OidcSignInRefused(logger, "the account is disabled or locked", user.Id);
                RecordRefused(user, "the account is disabled or locked");
                return OidcSignInOutcome.Refused;
            }

            if (role is null)
            {
                AccountsLog.OidcSignInRefused(logger, "no role maps and the default role is None", user.Id);
                RecordRefused(user, "no role maps and the default role is None");
                return OidcSignInOutcome.NoRole;
            }

            if (!await RefreshRoleAsync(user, role))
            {
                return OidcSignInOutcome.Failed;
            }
        }

        // A fresh application cookie, whatever the browser had: no session fixation.
        await signIn.SignInAsync(user, isPersistent: false, AuthenticationMethod);
        AccountsLog.OidcSignedIn(logger, user.Id, role, created);
        audit.Record(AuditActions.SignInSucceeded, AuditActor.User(user.Id, user.Email), user.Email, AuditOutcome.Success, $"single sign-on as {role}");
        return OidcSignInOutcome.SignedIn;
    }

    private async Task<(OidcSignInOutcome Outcome, IrisUser? User)> CreateAsync(
        ClaimsPrincipal external, string issuer, string subject, string role, OidcOptions settings, CancellationToken cancellationToken)
    {
        var email = external.FindFirstValue("email")?.Trim();
        if (email is null || email.Length > 256 || !EmailRule.IsValid(email))
        {
            AccountsLog.OidcSignInRefused(logger, "the ID token has no usable email for a new account", null);
            RecordRefused(null, "the ID token has no usable email for a new account");
            return (OidcSignInOutcome.Failed, null);
        }

        if (string.Equals(external.FindFirstValue("email_verified"), "false", StringComparison.OrdinalIgnoreCase))
        {
            AccountsLog.OidcSignInRefused(logger, "the provider says the email is not verified", null);
            RecordRefused(null, "the provider says the email is not verified");
            return (OidcSignInOutcome.Failed, null);
        }

        if (await users.FindByEmailAsync(email) is not null || await users.FindByNameAsync(email) is not null)
        {
            AccountsLog.OidcSignInRefused(logger, "a local account has the same email; it is not linked", null);
            RecordRefused(null, "a local account has the same email; it is not linked");
            return (OidcSignInOutcome.EmailTaken, null);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var user = new IrisUser
        {
            UserName = email,
            Email = email,
            EmailConfirmed = true,
            CreatedAtUtc = time.GetUtcNow().UtcDateTime,
        };
        // No password: the account signs in only through the provider.
        var result = await users.CreateAsync(user);
        if (!result.Succeeded)
        {
            // Most likely the same person signing in twice at once, the other request made the account.
            AccountsLog.OidcSignInRefused(logger, "the account could not be created: " + string.Join(" ", result.Errors.Select(e => e.Code)), null);
            return (OidcSignInOutcome.EmailTaken, null);
        }

        var linked = await users.AddToRoleAsync(user, role);
        if (linked.Succeeded)
        {
            linked = await users.AddLoginAsync(user, new UserLoginInfo(issuer, subject, settings.DisplayName));
        }

        if (!linked.Succeeded)
        {
            await users.DeleteAsync(user);
            AccountsLog.OidcSignInRefused(logger, "the account could not be linked: " + string.Join(" ", linked.Errors.Select(e => e.Code)), null);
            return (OidcSignInOutcome.Failed, null);
        }

        AccountsLog.OidcAccountCreated(logger, user.Id, role);
        audit.Record(AuditActions.UserCreated, AuditActor.System, user.Email, AuditOutcome.Success, $"role {role}; first single sign-on, linked by issuer and subject");
        return (OidcSignInOutcome.SignedIn, user);
    }

    private async Task<bool> RefreshRoleAsync(IrisUser user, string role)
    {
        var current = await users.GetRolesAsync(user);
        if (current.Count == 1 && current[0] == role)
        {
            return true;
        }

        var removed = await users.RemoveFromRolesAsync(user, current);
        var added = removed.Succeeded ? await users.AddToRoleAsync(user, role) : removed;
        if (!added.Succeeded)
        {
            AccountsLog.OidcSignInRefused(logger, "the role could not be updated: " + string.Join(" ", added.Errors.Select(e => e.Code)), user.Id);
            return false;
        }

        var previous = string.Join(",", current);
        AccountsLog.OidcRoleChanged(logger, user.Id, previous, role);
        audit.Record(AuditActions.RoleChanged, AuditActor.System, user.Email, AuditOutcome.Success, $"{(previous.Length > 0 ? previous : "(none)")} -> {role} by the provider's claims");
        return true;
    }

    private void RecordRefused(IrisUser? user, string reason) =>
        audit.Record(AuditActions.SignInFailed, user is null ? AuditActor.Anonymous : AuditActor.User(user.Id, user.Email), user?.Email, AuditOutcome.Failure, $"single sign-on: {reason}");
}
