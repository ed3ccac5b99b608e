using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Accounts;

/// <summary>A user as the admin page and <c>iris admin user list</c> show it.</summary>
public sealed record UserSummary(string Id, string Email, string Role, bool IsDisabled, bool IsLockedOut, bool MustChangePassword, DateTime CreatedAtUtc);

/// <summary>What an admin action did: an error to show, or success with a one-time password to show once.</summary>
public sealed record AdminResult(string? Error, string? OneTimePassword = null, IrisUser? User = null)
{
    public bool Succeeded => Error is null;

    public static AdminResult Fail(string error) => new(error);

    public static AdminResult Fail(IdentityResult result) =>
        new(string.Join(" ", result.Errors.Select(e => e.Description)));
}

/// <summary>
/// What admins do to accounts, shared by the admin users page and the <c>iris admin</c> commands so both
/// apply the same rules: one role per user, one-time passwords that must be changed, and never the last
/// enabled admin demoted or disabled (nobody could administer the server then).
/// </summary>
public sealed class UserAdministration(UserManager<IrisUser> users, TimeProvider time)
{
    private static readonly EmailAddressAttribute EmailRule = new();

    /// <summary>Adds a user. Without <paramref name="password"/> a one-time password is generated, returned once, and must be changed at the first sign-in.</summary>
    public async Task<AdminResult> AddUserAsync(string email, string role, string? password, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        email = email.Trim();
        if (!EmailRule.IsValid(email) || email.Length > 256)
        {
            return AdminResult.Fail($"'{email}' is not an email address.");
        }

        if (IrisRoles.Parse(role) is not { } roleName)
        {
            return AdminResult.Fail($"unknown role '{role}': use student, instructor or admin.");
        }

        var oneTimePassword = password is null ? OneTimePasswords.Generate() : null;
        var user = new IrisUser
        {
            UserName = email,
            Email = email,
            EmailConfirmed = true,
            MustChangePassword = oneTimePassword is not null,
            CreatedAtUtc = time.GetUtcNow().UtcDateTime,
        };
        var created = await users.CreateAsync(user, password ?? oneTimePassword!);
        if (!created.Succeeded)
        {
            return AdminResult.Fail(created);
        }

        var added = await users.AddToRoleAsync(user, roleName);
        if (!added.Succeeded)
        {
            await users.DeleteAsync(user);
            return AdminResult.Fail(added);
        }

        return new AdminResult(null, oneTimePassword, user);
    }

    public async Task<IReadOnlyList<UserSummary>> ListAsync(CancellationToken cancellationToken)
    {
        var all = await users.Users.OrderBy(u => u.Email).ToListAsync(cancellationToken);
        var summaries = new List<UserSummary>(all.Count);
        var now = time.GetUtcNow();
        foreach (var user in all)
        {
            var roles = await users.GetRolesAsync(user);
            summaries.Add(new UserSummary(
                user.Id, user.Email ?? user.UserName ?? user.Id, roles.FirstOrDefault() ?? "(none)", user.IsDisabled,
                user.LockoutEnd is { } end && end > now, user.MustChangePassword, user.CreatedAtUtc));
        }

        return summaries;
    }

    /// <summary>Gives the user this role instead of the one it had; it applies at the user's next security stamp check.</summary>
    public async Task<AdminResult> SetRoleAsync(string userId, string role, CancellationToken cancellationToken)
    {
        if (IrisRoles.Parse(role) is not { } roleName)
        {
            return AdminResult.Fail($"unknown role '{role}': use student, instructor or admin.");
        }

        if (await users.FindByIdAsync(userId) is not { } user)
        {
            return AdminResult.Fail("no such user.");
        }

        var current = await users.GetRolesAsync(user);
        if (current.Count == 1 && current[0] == roleName)
        {
            return new AdminResult(null, User: user);
        }

        if (roleName != IrisRoles.Admin && await IsLastEnabledAdminAsync(user, cancellationToken))
        {
            return AdminResult.Fail("this is the last enabled admin: make another user admin first.");
        }

        var removed = await users.RemoveFromRolesAsync(user, current);
        if (!removed.Succeeded)
        {
            return AdminResult.Fail(removed);
        }

        var added = await users.AddToRoleAsync(user, roleName);
        return added.Succeeded ? new AdminResult(null, User: user) : AdminResult.Fail(added);
    }

    /// <summary>Disables or enables the user. Disabling renews the security stamp, so an existing cookie stops working at its next check.</summary>
    public async Task<AdminResult> SetDisabledAsync(string userId, bool disabled, CancellationToken cancellationToken)
    {
        if (await users.FindByIdAsync(userId) is not { } user)
        {
            return AdminResult.Fail("no such user.");
        }

        if (disabled && await IsLastEnabledAdminAsync(user, cancellationToken))
        {
            return AdminResult.Fail("this is the last enabled admin: make another user admin first.");
        }

        user.IsDisabled = disabled;
        var updated = await users.UpdateSecurityStampAsync(user);
        return updated.Succeeded ? new AdminResult(null, User: user) : AdminResult.Fail(updated);
    }

    /// <summary>
    /// Replaces the password with a one-time password (returned once) that must be changed at the next sign-in;
    /// ends the lockout and, through the new security stamp, every existing sign-in of the user.
    /// </summary>
    public async Task<AdminResult> ResetPasswordAsync(string userId, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (await users.FindByIdAsync(userId) is not { } user)
        {
            return AdminResult.Fail("no such user.");
        }

        var oneTimePassword = OneTimePasswords.Generate();
        user.PasswordHash = users.PasswordHasher.HashPassword(user, oneTimePassword);
        user.MustChangePassword = true;
        user.AccessFailedCount = 0;
        user.LockoutEnd = null;
        var updated = await users.UpdateSecurityStampAsync(user);
        return updated.Succeeded ? new AdminResult(null, oneTimePassword, user) : AdminResult.Fail(updated);
    }

    /// <summary>Whether any enabled user has the Admin role.</summary>
    public async Task<bool> HasEnabledAdminAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return (await users.GetUsersInRoleAsync(IrisRoles.Admin)).Any(u => !u.IsDisabled);
    }

    private async Task<bool> IsLastEnabledAdminAsync(IrisUser user, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (user.IsDisabled || !await users.IsInRoleAsync(user, IrisRoles.Admin))
        {
            return false;
        }

        return !(await users.GetUsersInRoleAsync(IrisRoles.Admin)).Any(u => u.Id != user.Id && !u.IsDisabled);
    }
}
