using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Account;

/// <summary>
/// The signed-in user's personal access tokens: list them (name, scopes, dates, last use), create one (its
/// secret shown once, on the answer to the POST, and never again), revoke one. A user sees and revokes only
/// their own. Tokens do not sign in here: this page, like every page, takes the cookie.
/// </summary>
public sealed partial class Tokens
{
    private IReadOnlyList<AccessToken> _tokens = [];
    private string? _error;
    private string? _notice;
    private string? _newToken;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "create-token")]
    private NewTokenForm NewToken { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "revoke-token")]
    private RevokeForm Revoke { get; set; } = default!;

    [Inject]
    private AccessTokenService Service { get; set; } = default!;

    [Inject]
    private UserManager<IrisUser> Users { get; set; } = default!;

    [Inject]
    private IOptions<AccessTokenOptions> Options { get; set; } = default!;

    private int MaxDays => Options.Value.MaxExpiryDays;

    private string UserId => HttpContext.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? string.Empty;

    protected override async Task OnInitializedAsync()
    {
        NewToken ??= new() { ExpiresDays = Options.Value.DefaultExpiryDays };
        Revoke ??= new();
        _tokens = await Service.ListAsync(UserId, HttpContext.RequestAborted);
    }

    private async Task CreateAsync()
    {
        var cancellationToken = HttpContext.RequestAborted;
        if (await Users.GetUserAsync(HttpContext.User) is not { } user)
        {
            _error = "Your account was not found; sign in again.";
            return;
        }

        var scopes = new List<string>();
        if (NewToken.Runs)
        {
            scopes.Add(AccessTokenScopes.Runs);
        }

        if (NewToken.RunsRead)
        {
            scopes.Add(AccessTokenScopes.RunsRead);
        }

        if (scopes.Count == 0)
        {
            _error = "Pick at least one scope.";
            return;
        }

        var result = await Service.CreateAsync(user, NewToken.Name, scopes, NewToken.ExpiresDays, user.Id, cancellationToken);
        if (result.Created is not { } created)
        {
            _error = $"Could not create the token: {result.Error}";
            return;
        }

        _newToken = created.Token;
        _notice = $"Created '{created.Stored.Name}' ({created.Stored.Scopes}), expiring {Date(created.Stored.ExpiresAtUtc)}.";
        NewToken = new() { ExpiresDays = Options.Value.DefaultExpiryDays };
        _tokens = await Service.ListAsync(user.Id, cancellationToken);
    }

    private async Task RevokeAsync()
    {
        var cancellationToken = HttpContext.RequestAborted;
        // Only the user's own token: someone else's id is as unknown as a made-up one.
        if (!Guid.TryParseExact(Revoke.Id, "N", out var id) || await Service.RevokeAsync(id, UserId, UserId, cancellationToken) is not { } revoked)
        {
            _error = "No such token.";
        }
        else
        {
            _notice = $"Revoked '{revoked.Name}': it no longer works.";
        }

        _tokens = await Service.ListAsync(UserId, cancellationToken);
    }

    private static string StatusOf(AccessToken token) =>
        token.RevokedAtUtc is not null ? "revoked"
        : token.ExpiresAtUtc <= DateTime.UtcNow ? "expired"
        : "active";

    private static string Date(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    private sealed class NewTokenForm
    {
        [Required(ErrorMessage = "Name the token (what uses it).")]
        [MaxLength(AccessToken.MaxNameLength)]
        public string Name { get; set; } = "";

        [Range(1, AccessTokenOptionsValidator.CeilingDays, ErrorMessage = "Pick a number of days.")]
        public int ExpiresDays { get; set; }

        public bool Runs { get; set; } = true;

        public bool RunsRead { get; set; } = true;
    }

    private sealed class RevokeForm
    {
        public string? Id { get; set; }
    }
}
