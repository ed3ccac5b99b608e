using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Account;

/// <summary>
/// The signed-in user's link to the single sign-on provider: link (through the provider, see
/// <see cref="OidcAccountLink"/>) or unlink, which needs a password to fall back on.
/// </summary>
public sealed partial class SingleSignOn
{
    private IList<UserLoginInfo> _logins = [];
    private bool _hasPassword;
    private string? _error;
    private string? _notice;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    /// <summary>How linking ended (<see cref="OidcAccountLink.MessageFor"/>); only fixed texts are shown.</summary>
    [SupplyParameterFromQuery(Name = "link")]
    private string? Link { get; set; }

    [Inject]
    private IOptions<OidcOptions> Oidc { get; set; } = default!;

    [Inject]
    private UserManager<IrisUser> Users { get; set; } = default!;

    [Inject]
    private SignInManager<IrisUser> SignInManager { get; set; } = default!;

    [Inject]
    private OidcAccountLink Linking { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        if (await Users.GetUserAsync(HttpContext.User) is { } user)
        {
            await LoadAsync(user);
        }
    }

    private async Task UnlinkAsync()
    {
        if (await Users.GetUserAsync(HttpContext.User) is not { } user)
        {
            _error = "Your account was not found; sign in again.";
            return;
        }

        var outcome = await Linking.UnlinkAsync(user, HttpContext.RequestAborted);
        if (outcome == OidcLinkOutcome.Unlinked)
        {
            // Removing a login renews the security stamp: a fresh cookie for this browser.
            await SignInManager.RefreshSignInAsync(user);
            _notice = OidcAccountLink.MessageFor(nameof(OidcLinkOutcome.Unlinked));
        }
        else
        {
            _error = OidcAccountLink.MessageFor(outcome.ToString());
        }

        await LoadAsync(user);
    }

    private async Task LoadAsync(IrisUser user)
    {
        _logins = await Users.GetLoginsAsync(user);
        _hasPassword = await Users.HasPasswordAsync(user);
    }
}
