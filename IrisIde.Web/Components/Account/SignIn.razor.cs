using System.ComponentModel.DataAnnotations;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Account;

/// <summary>
/// Sign-in with email and password. Every failure reads the same (unknown email, wrong password, locked,
/// disabled), so the page does not tell which emails have accounts; failures count towards the lockout.
/// </summary>
public sealed partial class SignIn
{
    /// <summary>The one answer to every failed sign-in.</summary>
    public const string FailedMessage = "Sign-in failed: wrong email or password, or the account is locked or disabled.";

    /// <summary>The answer once an address has failed too often; it says nothing about any account.</summary>
    public const string ThrottledMessage = "Too many failed sign-ins from your network address; try again in a few minutes.";

    private string? _error;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "signin")]
    private SignInForm Input { get; set; } = default!;

    /// <summary>Where to go afterwards; followed only when it is a path on this site.</summary>
    [SupplyParameterFromQuery]
    private string? ReturnUrl { get; set; }

    /// <summary>How a single sign-on ended (<see cref="OidcSignIn.MessageFor"/>); only fixed texts are shown.</summary>
    [SupplyParameterFromQuery(Name = "sso")]
    private string? Sso { get; set; }

    [Inject]
    private IOptions<OidcOptions> Oidc { get; set; } = default!;

    [Inject]
    private SignInManager<IrisUser> SignInManager { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private SignInThrottle Throttle { get; set; } = default!;

    [Inject]
    private ILogger<SignIn> Logger { get; set; } = default!;

    [Inject]
    private AuditRecorder Audit { get; set; } = default!;

    protected override void OnInitialized() => Input ??= new();

    private async Task SignInAsync()
    {
        var address = SignInThrottle.KeyOf(HttpContext);
        if (Throttle.IsBlocked(address))
        {
            AccountsLog.SignInThrottled(Logger);
            Audit.RecordRefusal(AuditActions.SignInThrottled, null, "too many failed sign-ins from this address");
            _error = ThrottledMessage;
            Input.Password = "";
            return;
        }

        var result = await SignInManager.PasswordSignInAsync(Input.Email.Trim(), Input.Password, isPersistent: false, lockoutOnFailure: true);
        if (result.Succeeded)
        {
            // A fresh cookie (new ticket) replaces whatever the browser sent: no session fixation.
            Navigation.NavigateTo(LocalUrl.OrRoot(ReturnUrl));
            return;
        }

        Throttle.RecordFailure(address);
        AccountsLog.SignInFailed(Logger, result.IsLockedOut ? "locked out" : result.IsNotAllowed ? "not allowed" : "wrong email or password");
        _error = FailedMessage;
        // Never echo a password back into the page.
        Input.Password = "";
    }

    private sealed class SignInForm
    {
        [Required(ErrorMessage = "Enter your email.")]
        [MaxLength(256)]
        public string Email { get; set; } = "";

        [Required(ErrorMessage = "Enter your password.")]
        [MaxLength(1024)]
        public string Password { get; set; } = "";
    }
}
