using System.ComponentModel.DataAnnotations;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Account;

/// <summary>
/// Changes the signed-in user's password (the current one is asked again). This is also where a user with a
/// one-time password is sent first; changing it clears the flag and renews the sign-in cookie.
/// </summary>
public sealed partial class ChangePassword
{
    private bool _mustChange;
    private bool _done;
    private string? _error;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "change-password")]
    private ChangePasswordForm Input { get; set; } = default!;

    [SupplyParameterFromQuery]
    private string? ReturnUrl { get; set; }

    [Inject]
    private UserManager<IrisUser> Users { get; set; } = default!;

    [Inject]
    private SignInManager<IrisUser> SignInManager { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IOptions<AccountsOptions> Options { get; set; } = default!;

    [Inject]
    private AuditRecorder Audit { get; set; } = default!;

    private int MinLength => Options.Value.MinPasswordLength;

    protected override void OnInitialized()
    {
        Input ??= new();
        _mustChange = HttpContext.User.HasClaim(c => c.Type == IrisClaimsPrincipalFactory.MustChangePasswordClaim);
    }

    private async Task ChangeAsync()
    {
        // The re-rendered form never carries a password back, whatever happens below.
        var (current, next) = (Input.CurrentPassword, Input.NewPassword);
        Input = new();
        await ChangeAsync(current, next);
    }

    private async Task ChangeAsync(string current, string next)
    {
        if (await Users.GetUserAsync(HttpContext.User) is not { } user)
        {
            _error = "Your account was not found; sign in again.";
            return;
        }

        if (next == current)
        {
            _error = "The new password must differ from the current one.";
            return;
        }

        var changed = await Users.ChangePasswordAsync(user, current, next);
        var actor = AuditActor.User(user.Id, user.Email);
        if (!changed.Succeeded)
        {
            _error = string.Join(" ", changed.Errors.Select(e => e.Description));
            // Identity's error codes (PasswordMismatch, PasswordTooShort...), never the passwords.
            Audit.Record(AuditActions.PasswordChanged, actor, user.Email, AuditOutcome.Failure, string.Join(" ", changed.Errors.Select(e => e.Code)));
            return;
        }

        var wasForced = user.MustChangePassword;
        Audit.Record(AuditActions.PasswordChanged, actor, user.Email, AuditOutcome.Success, wasForced ? "replaced a one-time password" : null);
        user.MustChangePassword = false;
        await Users.UpdateAsync(user);
        // The stamp changed with the password: a fresh cookie for this browser; other sign-ins end at their next check.
        await SignInManager.RefreshSignInAsync(user);
        _mustChange = false;
        if (wasForced && LocalUrl.IsLocal(ReturnUrl))
        {
            Navigation.NavigateTo(ReturnUrl!);
            return;
        }

        _done = true;
    }

    private sealed class ChangePasswordForm
    {
        [Required(ErrorMessage = "Enter your current password.")]
        [MaxLength(1024)]
        public string CurrentPassword { get; set; } = "";

        [Required(ErrorMessage = "Enter a new password.")]
        [MaxLength(1024)]
        public string NewPassword { get; set; } = "";

        [Compare(nameof(NewPassword), ErrorMessage = "The two new passwords differ.")]
        public string ConfirmPassword { get; set; } = "";
    }
}
