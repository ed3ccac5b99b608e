using System.Net;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>
/// Single sign-on against a real glewlwyd, driven over HTTP one redirect at a time (the browser test signs in
/// through the pages): account linking by issuer and subject, roles from the claims, refusals.
/// </summary>
[Trait("Needs", "Glewlwyd")]
public sealed class OidcSignInTests(OidcAppFixture sso) : IClassFixture<OidcAppFixture>
{
    /// <summary>A whole sign-in is a dozen requests, each bounded by the client's own timeout.</summary>
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_first_sign_in_makes_an_account_linked_to_the_issuer_and_subject_with_the_mapped_role()
    {
        var person = await sso.AddProviderUserAsync("ada", OidcAppFixture.AdminGroup, "unmapped-group").WaitAsync(Timeout);
        using var client = new AccountTestClient(sso.App.BaseAddress);

        var result = await sso.SignInAsync(client, person.Name, returnUrl: "/admin/users").WaitAsync(Timeout);

        Assert.Equal("/admin/users", result.Landing);
        Assert.NotNull(client.SessionCookie);
        var (status, html) = await client.GetAsync("/admin/users").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(person.Email, html, StringComparison.Ordinal);

        var (user, roles, logins) = await AccountAsync(person.Email).WaitAsync(Timeout);
        Assert.Equal([IrisRoles.Admin], roles);
        var login = Assert.Single(logins);
        Assert.Equal(sso.Provider.Issuer, login.LoginProvider);
        Assert.False(string.IsNullOrEmpty(login.ProviderKey));
        Assert.Null(user.PasswordHash);
    }

    [Fact]
    public async Task A_user_whose_claims_map_to_nothing_is_a_student_and_is_kept_off_the_admin_page()
    {
        var person = await sso.AddProviderUserAsync("bob", "unmapped-group").WaitAsync(Timeout);
        using var client = new AccountTestClient(sso.App.BaseAddress);

        var result = await sso.SignInAsync(client, person.Name).WaitAsync(Timeout);

        Assert.Equal("/", result.Landing);
        using var admin = await client.Http.GetAsync("/admin/users").WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.Found, admin.StatusCode);
        Assert.StartsWith(AccountsExtensions.DeniedPath, client.Target(admin), StringComparison.Ordinal);
        Assert.Equal([IrisRoles.Student], (await AccountAsync(person.Email).WaitAsync(Timeout)).Roles);
    }

    [Fact]
    public async Task Signing_in_again_reuses_the_same_account_and_a_role_change_at_the_provider_applies()
    {
        var person = await sso.AddProviderUserAsync("cy", OidcAppFixture.TeacherGroup).WaitAsync(Timeout);
        using (var first = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(first, person.Name).WaitAsync(Timeout)).Landing);
        }

        var before = await AccountAsync(person.Email).WaitAsync(Timeout);
        Assert.Equal([IrisRoles.Instructor], before.Roles);

        // Promoted at the provider: admin at the next sign-in, same account.
        await sso.Provider.SetRolesAsync(person.Name, person.Email, [OidcAppFixture.AdminGroup]).WaitAsync(Timeout);
        using (var second = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(second, person.Name).WaitAsync(Timeout)).Landing);
            Assert.Equal(HttpStatusCode.OK, (await second.GetAsync("/admin/users").WaitAsync(Timeout)).Status);
        }

        var promoted = await AccountAsync(person.Email).WaitAsync(Timeout);
        Assert.Equal(before.User.Id, promoted.User.Id);
        Assert.Equal([IrisRoles.Admin], promoted.Roles);

        // Dropped from every group: back to the default role, and an open admin session loses the page.
        using var third = new AccountTestClient(sso.App.BaseAddress);
        await sso.SignInAsync(third, person.Name).WaitAsync(Timeout);
        await sso.Provider.SetRolesAsync(person.Name, person.Email, []).WaitAsync(Timeout);
        using (var fourth = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(fourth, person.Name).WaitAsync(Timeout)).Landing);
        }

        var demoted = await AccountAsync(person.Email).WaitAsync(Timeout);
        Assert.Equal(before.User.Id, demoted.User.Id);
        Assert.Equal([IrisRoles.Student], demoted.Roles);
        Assert.Single(demoted.Logins);
        using var stale = await third.Http.GetAsync("/admin/users").WaitAsync(Timeout);
        Assert.StartsWith(AccountsExtensions.DeniedPath, third.Target(stale), StringComparison.Ordinal);
        Assert.Single(await TestAccounts.WithAdministrationAsync(sso.App, a => a.ListAsync(CancellationToken.None)), u => u.Email == person.Email);
    }

    [Fact]
    public async Task A_local_account_with_the_same_email_is_not_taken_over_and_keeps_its_password()
    {
        var person = await sso.AddProviderUserAsync("mallory", OidcAppFixture.AdminGroup).WaitAsync(Timeout);
        var local = await TestAccounts.AddAsync(sso.App, person.Email, IrisRoles.Admin);
        using var client = new AccountTestClient(sso.App.BaseAddress);

        var result = await sso.SignInAsync(client, person.Name).WaitAsync(Timeout);

        Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.EmailTaken), result.Landing);
        Assert.Null(client.SessionCookie);
        var (status, html) = await client.GetAsync(result.Landing!).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(WebUtility.HtmlEncode(OidcSignIn.MessageFor("emailtaken")!), html, StringComparison.Ordinal);
        var account = await AccountAsync(person.Email).WaitAsync(Timeout);
        Assert.Equal(local.Id, account.User.Id);
        Assert.Empty(account.Logins);

        using var owner = new AccountTestClient(sso.App.BaseAddress);
        await owner.SignInOrFailAsync(person.Email, TestAccounts.Password);
    }

    [Fact]
    public async Task A_disabled_or_locked_account_cannot_sign_in_through_the_provider()
    {
        var person = await sso.AddProviderUserAsync("dee", OidcAppFixture.TeacherGroup).WaitAsync(Timeout);
        using (var first = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(first, person.Name).WaitAsync(Timeout)).Landing);
        }

        var account = await AccountAsync(person.Email).WaitAsync(Timeout);
        var disabled = await TestAccounts.WithAdministrationAsync(sso.App, a => a.SetDisabledAsync(account.User.Id, disabled: true, CancellationToken.None));
        Assert.True(disabled.Succeeded, disabled.Error);
        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            var refused = await sso.SignInAsync(client, person.Name).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Refused), refused.Landing);
            Assert.Null(client.SessionCookie);
        }

        await TestAccounts.WithAdministrationAsync(sso.App, a => a.SetDisabledAsync(account.User.Id, disabled: false, CancellationToken.None));
        await using (var scope = sso.App.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>();
            var user = (await users.FindByIdAsync(account.User.Id))!;
            Assert.True((await users.SetLockoutEndDateAsync(user, DateTimeOffset.UtcNow.AddHours(1))).Succeeded);
        }

        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            var refused = await sso.SignInAsync(client, person.Name).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Refused), refused.Landing);
            Assert.Null(client.SessionCookie);
        }
    }

    [Fact]
    public async Task A_wrong_password_at_the_provider_leaves_the_browser_signed_out()
    {
        var person = await sso.AddProviderUserAsync("eve", OidcAppFixture.AdminGroup).WaitAsync(Timeout);
        using var client = new AccountTestClient(sso.App.BaseAddress);

        var result = await sso.SignInAsync(client, person.Name, password: "not the password").WaitAsync(Timeout);

        Assert.Equal(SsoStep.ProviderRefusedPassword, result.Step);
        Assert.Null(client.SessionCookie);
        using var admin = await client.Http.GetAsync("/admin/users").WaitAsync(Timeout);
        Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(admin), StringComparison.Ordinal);
        Assert.Null(await FindAccountAsync(person.Email).WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_forged_tampered_or_replayed_callback_fails_cleanly_and_signs_nobody_in()
    {
        var person = await sso.AddProviderUserAsync("fay", OidcAppFixture.AdminGroup).WaitAsync(Timeout);

        // A callback the app never asked for.
        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            var forged = await OidcAppFixture.CompleteAsync(client, new Uri(sso.App.BaseAddress, "signin-oidc?code=forged&state=forged")).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Failed), forged.Callback);
            Assert.Null(client.SessionCookie);
            var (status, html) = await client.GetAsync(forged.Callback!).WaitAsync(Timeout);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Contains(WebUtility.HtmlEncode(OidcSignIn.MessageFor("failed")!), html, StringComparison.Ordinal);
        }

        // A real code with its state changed.
        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            var real = await SignInUpToTheCallbackAsync(client, person.Name).WaitAsync(Timeout);
            var query = QueryHelpers.ParseQuery(real.Query);
            var tampered = QueryHelpers.AddQueryString(new Uri(sso.App.BaseAddress, "signin-oidc").ToString(), new Dictionary<string, string?>
            {
                ["code"] = query["code"].ToString(),
                ["state"] = query["state"].ToString()[..^4] + "AAAA",
            });
            var result = await OidcAppFixture.CompleteAsync(client, new Uri(tampered)).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Failed), result.Callback);
            Assert.Null(client.SessionCookie);
        }

        // Another browser presenting someone's genuine callback: no correlation cookie, no sign-in.
        Uri stolen;
        using (var victim = new AccountTestClient(sso.App.BaseAddress))
        {
            stolen = await SignInUpToTheCallbackAsync(victim, person.Name).WaitAsync(Timeout);
        }

        using (var attacker = new AccountTestClient(sso.App.BaseAddress))
        {
            var result = await OidcAppFixture.CompleteAsync(attacker, stolen).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Failed), result.Callback);
            Assert.Null(attacker.SessionCookie);
        }

        // The landing without a provider's answer signs nobody in either.
        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            using var landing = await client.Http.GetAsync(OidcSignIn.DonePath + "?returnUrl=%2Fadmin%2Fusers").WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Failed), client.Target(landing));
            Assert.Null(client.SessionCookie);
        }

        Assert.Null(await FindAccountAsync(person.Email).WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_sign_in_page_offers_the_provider_and_starting_needs_the_anti_forgery_token()
    {
        using var client = new AccountTestClient(sso.App.BaseAddress);
        var (status, html) = await client.GetAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"Sign in with {OidcAppFixture.DisplayName}", html, StringComparison.Ordinal);
        Assert.Contains($"action=\"{OidcSignIn.StartPath}\"", html, StringComparison.Ordinal);

        using var forged = await client.PostFormAsync(OidcSignIn.StartPath, "sso", [new("returnUrl", "/")], withAntiforgery: false);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);

        var toProvider = await OidcAppFixture.StartAsync(client, returnUrl: "https://elsewhere.example/").WaitAsync(Timeout);
        Assert.StartsWith(sso.Provider.Issuer, toProvider.ToString(), StringComparison.Ordinal);
        var authorize = QueryHelpers.ParseQuery(toProvider.Query);
        Assert.Equal("code", authorize["response_type"]);
        Assert.Equal("S256", authorize["code_challenge_method"]);
        Assert.Equal(new Uri(sso.App.BaseAddress, "signin-oidc").ToString(), authorize["redirect_uri"]);
    }

    [Fact]
    public async Task Without_an_authority_there_is_no_button_and_no_single_sign_on_endpoint()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Uid"] = "63460",
            ["Iris:Sandbox:UidCount"] = "16",
        }).WaitAsync(Timeout);
        using var client = new AccountTestClient(app.BaseAddress);

        var (status, html) = await client.GetAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.DoesNotContain("sso-sign-in", html, StringComparison.Ordinal);
        using var start = await client.PostFormAsync(OidcSignIn.StartPath, "sso", [new("returnUrl", "/")], tokenFrom: AccountsExtensions.SignInPath).WaitAsync(Timeout);
        // Nothing answers the POST (the pages' catch-all route takes GETs only, hence 405 rather than 404).
        Assert.Contains(start.StatusCode, (HttpStatusCode[])[HttpStatusCode.NotFound, HttpStatusCode.MethodNotAllowed]);
    }

    [Fact]
    public async Task With_default_role_none_a_user_whose_claims_map_to_nothing_is_refused_and_gets_no_account()
    {
        const string strictClient = "irisapp-strict";
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:Oidc:Authority"] = sso.Provider.Issuer,
            ["Iris:Auth:Oidc:ClientId"] = strictClient,
            ["Iris:Auth:Oidc:ClientSecret"] = "strict-secret",
            ["Iris:Auth:Oidc:RoleClaim"] = "role",
            [$"Iris:Auth:Oidc:RoleMap:{OidcAppFixture.TeacherGroup}"] = IrisRoles.Instructor,
            ["Iris:Auth:Oidc:DefaultRole"] = "None",
            ["Iris:Sandbox:Uid"] = "63480",
            ["Iris:Sandbox:UidCount"] = "16",
        }).WaitAsync(Timeout);
        await sso.Provider.AddClientAsync(strictClient, "strict-secret", new Uri(app.BaseAddress, "signin-oidc")).WaitAsync(Timeout);
        var outsider = await sso.AddProviderUserAsync("outsider", "alumni").WaitAsync(Timeout);
        var teacher = await sso.AddProviderUserAsync("teacher", OidcAppFixture.TeacherGroup).WaitAsync(Timeout);

        using (var client = new AccountTestClient(app.BaseAddress))
        {
            var refused = await sso.SignInAsync(client, outsider.Name, clientId: strictClient).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.NoRole), refused.Landing);
            Assert.Null(client.SessionCookie);
        }

        using (var client = new AccountTestClient(app.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(client, teacher.Name, clientId: strictClient).WaitAsync(Timeout)).Landing);
            Assert.NotNull(client.SessionCookie);
        }

        var accounts = await TestAccounts.WithAdministrationAsync(app, a => a.ListAsync(CancellationToken.None)).WaitAsync(Timeout);
        Assert.DoesNotContain(accounts, u => u.Email == outsider.Email);
        Assert.Equal(IrisRoles.Instructor, Assert.Single(accounts, u => u.Email == teacher.Email).Role);
    }

    [Fact]
    public async Task An_unreachable_provider_sends_the_user_back_to_the_sign_in_page_with_a_message()
    {
        // A loopback port nothing listens on (bound, then released).
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:Oidc:Authority"] = $"http://127.0.0.1:{port}/api/oidc",
            ["Iris:Auth:Oidc:ClientId"] = "irisapp",
            ["Iris:Auth:Oidc:ClientSecret"] = "unused",
            ["Iris:Sandbox:Uid"] = "63460",
            ["Iris:Sandbox:UidCount"] = "16",
        }).WaitAsync(Timeout);
        using var client = new AccountTestClient(app.BaseAddress);

        using var start = await client.PostFormAsync(OidcSignIn.StartPath, "sso", [new("returnUrl", "/")], tokenFrom: AccountsExtensions.SignInPath).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Unavailable), client.Target(start));
        var (status, html) = await client.GetAsync(client.Target(start)!).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(WebUtility.HtmlEncode(OidcSignIn.MessageFor("unavailable")!), html, StringComparison.Ordinal);
        Assert.Null(client.SessionCookie);
    }

    /// <summary>Everything up to the provider's redirect back to the app; returns that callback URL unused.</summary>
    private async Task<Uri> SignInUpToTheCallbackAsync(AccountTestClient client, string username)
    {
        var toProvider = await OidcAppFixture.StartAsync(client);
        using var toLogin = await client.Http.GetAsync(toProvider);
        var login = QueryHelpers.ParseQuery(toLogin.Headers.Location!.Query);
        using (var auth = await client.Http.PostAsync(new Uri(sso.Provider.ApiAddress, "auth/"), System.Net.Http.Json.JsonContent.Create(new { username, password = OidcAppFixture.Password })))
        {
            Assert.Equal(HttpStatusCode.OK, auth.StatusCode);
        }

        using (var grant = await client.Http.PutAsync(new Uri(sso.Provider.ApiAddress, $"auth/grant/{OidcAppFixture.ClientId}"), System.Net.Http.Json.JsonContent.Create(new { scope = login["scope"].ToString() })))
        {
            Assert.Equal(HttpStatusCode.OK, grant.StatusCode);
        }

        using var toApp = await client.Http.GetAsync(new Uri(login["callback_url"].ToString() + "&g_continue"));
        return toApp.Headers.Location!;
    }

    private async Task<(IrisUser User, IList<string> Roles, IList<UserLoginInfo> Logins)> AccountAsync(string email) =>
        await FindAccountAsync(email) ?? throw new InvalidOperationException($"no account for {email}");

    private async Task<(IrisUser User, IList<string> Roles, IList<UserLoginInfo> Logins)?> FindAccountAsync(string email)
    {
        await using var scope = sso.App.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>();
        if (await users.FindByEmailAsync(email) is not { } user)
        {
            return null;
        }

        return (user, await users.GetRolesAsync(user), await users.GetLoginsAsync(user));
    }
}
