using System.ComponentModel.DataAnnotations;
using IrisIde.Web.Accounts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Account;

/// <summary>
/// The first-start page at <c>/setup/{token}</c>: with the live token it creates the first admin and signs
/// them in. Any other token, and every token once an admin exists, gets 404 and the same blank page, so
/// the page tells a guesser nothing (not even whether set-up is still open): the app's not-found page.
/// </summary>
public sealed partial class Setup
{
    private bool _valid;
    private string? _error;

    [Parameter]
    public string Token { get; set; } = "";

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "setup")]
    private SetupForm Input { get; set; } = default!;

    [Inject]
    private AdminSetup AdminSetup { get; set; } = default!;

    [Inject]
    private SignInManager<IrisUser> SignInManager { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IOptions<AccountsOptions> Options { get; set; } = default!;

    private int MinLength => Options.Value.MinPasswordLength;

    protected override void OnInitialized()
    {
        Input ??= new();
        _valid = AdminSetup.Matches(Token);
        if (!_valid)
        {
            Navigation.NotFound();
        }
    }

    private async Task CreateAsync()
    {
        if (!_valid)
        {
            return;
        }

        var result = await AdminSetup.CreateAdminAsync(Token, Input.Email, Input.Password, HttpContext.RequestAborted);
        if (!result.Succeeded)
        {
            if (!AdminSetup.Matches(Token))
            {
                _valid = false;
                Navigation.NotFound();
                return;
            }

            _error = result.Error;
            (Input.Password, Input.ConfirmPassword) = ("", "");
            return;
        }

        await SignInManager.SignInAsync(result.User!, isPersistent: false);
        Navigation.NavigateTo("/admin/users");
    }

    private sealed class SetupForm
    {
        [Required(ErrorMessage = "Enter an email.")]
        [EmailAddress(ErrorMessage = "Enter an email address.")]
        [MaxLength(256)]
        public string Email { get; set; } = "";

        [Required(ErrorMessage = "Enter a password.")]
        [MaxLength(1024)]
        public string Password { get; set; } = "";

        [Compare(nameof(Password), ErrorMessage = "The two passwords differ.")]
        public string ConfirmPassword { get; set; } = "";
    }
}
