using System.Security.Claims;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts;

/// <summary>
/// Identity's sign-in with three changes: a disabled user cannot sign in and loses an existing cookie at its
/// next security stamp check; and a sign-in with an unknown email, or for a locked or disabled account, still
/// spends the time of one password hash, so the answer's timing does not tell which emails have accounts.
/// </summary>
public sealed class IrisSignInManager(
    UserManager<IrisUser> userManager,
    IHttpContextAccessor contextAccessor,
    IUserClaimsPrincipalFactory<IrisUser> claimsFactory,
    IOptions<IdentityOptions> optionsAccessor,
    ILogger<SignInManager<IrisUser>> logger,
    IAuthenticationSchemeProvider schemes,
    IUserConfirmation<IrisUser> confirmation,
    AuditRecorder audit)
    : SignInManager<IrisUser>(userManager, contextAccessor, claimsFactory, optionsAccessor, logger, schemes, confirmation)
{
    // A hash of a password nobody knows, in the hasher's current format, made once.
    private static readonly Lazy<string> DecoyHash = new(() => new PasswordHasher<IrisUser>().HashPassword(new IrisUser(), OneTimePasswords.Generate()));

    public override async Task<bool> CanSignInAsync(IrisUser user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return !user.IsDisabled && await base.CanSignInAsync(user);
    }

    public override async Task<IrisUser?> ValidateSecurityStampAsync(ClaimsPrincipal? principal)
    {
        var user = await base.ValidateSecurityStampAsync(principal);
        return user is { IsDisabled: false } ? user : null;
    }

    public override async Task<SignInResult> PasswordSignInAsync(string userName, string password, bool isPersistent, bool lockoutOnFailure)
    {
        var user = await UserManager.FindByNameAsync(userName);
        if (user is null)
        {
            SpendOneHash(password);
            // Not the email typed: a failed sign-in's email is often a password typed in the wrong box.
            audit.Record(AuditActions.SignInFailed, AuditActor.Anonymous, "(no such account)", AuditOutcome.Failure, "password: unknown email");
            return SignInResult.Failed;
        }

        var wasLockedOut = await UserManager.IsLockedOutAsync(user);
        var result = await base.PasswordSignInAsync(user, password, isPersistent, lockoutOnFailure);
        if (result.IsLockedOut || result.IsNotAllowed)
        {
            // Identity refuses these before it hashes anything.
            SpendOneHash(password);
        }

        var target = user.Email ?? user.Id;
        if (result.Succeeded)
        {
            audit.Record(AuditActions.SignInSucceeded, AuditActor.User(user.Id, user.Email), target, AuditOutcome.Success, "password");
        }
        else if (result.IsLockedOut && !wasLockedOut)
        {
            audit.Record(AuditActions.LockedOut, AuditActor.Anonymous, target, AuditOutcome.Failure,
                $"locked after {Options.Lockout.MaxFailedAccessAttempts} failed sign-ins in a row");
        }
        else
        {
            var reason = result.IsLockedOut ? "locked out" : result.IsNotAllowed ? (user.IsDisabled ? "disabled" : "not allowed") : "wrong password";
            audit.Record(AuditActions.SignInFailed, AuditActor.Anonymous, target, AuditOutcome.Failure, $"password: {reason}");
        }

        return result;
    }

    private void SpendOneHash(string password) =>
        UserManager.PasswordHasher.VerifyHashedPassword(new IrisUser(), DecoyHash.Value, password);
}

/// <summary>The principal of a signed-in user: Identity's (id, name, roles, security stamp) plus a must-change-password flag.</summary>
public sealed class IrisClaimsPrincipalFactory(UserManager<IrisUser> userManager, RoleManager<IdentityRole> roleManager, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<IrisUser, IdentityRole>(userManager, roleManager, options)
{
    /// <summary>Present while the user still has to replace a one-time password.</summary>
    public const string MustChangePasswordClaim = "iris:must_change_password";

    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(IrisUser user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        if (user.MustChangePassword)
        {
            identity.AddClaim(new Claim(MustChangePasswordClaim, "true"));
        }

        return identity;
    }
}
