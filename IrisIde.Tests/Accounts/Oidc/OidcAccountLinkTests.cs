using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using IrisIde.Tests.Audit;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>The single sign-on fixture with sandbox uids of its own, for the linking tests.</summary>
public sealed class OidcLinkAppFixture : OidcAppFixture
{
    protected override int SandboxUid => 64300;
}

/// <summary>
/// A signed-in local user links their account to the real glewlwyd from the single sign-on page and then signs
/// in through it; unlinks it; and is refused an identity that is already another account's. Audited.
/// </summary>
[Trait("Needs", "Glewlwyd")]
public sealed class OidcAccountLinkTests(OidcLinkAppFixture sso) : IClassFixture<OidcLinkAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task A_local_user_links_signs_in_through_the_provider_and_unlinks()
    {
        var person = await sso.AddProviderUserAsync("linker").WaitAsync(Timeout);
        var localEmail = TestAccounts.NewEmail("local-linker");
        var local = await TestAccounts.AddAsync(sso.App, localEmail, IrisRoles.Student);
        using var client = new AccountTestClient(sso.App.BaseAddress);
        await client.SignInOrFailAsync(localEmail, TestAccounts.Password);
        var (_, before) = await client.GetAsync(OidcSignIn.AccountPath).WaitAsync(Timeout);
        Assert.Contains("data-testid=\"sso-link\"", before, StringComparison.Ordinal);

        var landing = await LinkAsync(client, person.Name).WaitAsync(Timeout);

        Assert.Equal(OidcSignIn.AccountPageFor(OidcLinkOutcome.Linked), landing);
        var (_, linkedPage) = await client.GetAsync(landing!).WaitAsync(Timeout);
        Assert.Contains(WebUtility.HtmlEncode(OidcAccountLink.MessageFor("linked")!), linkedPage, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"sso-unlink\"", linkedPage, StringComparison.Ordinal);
        var login = Assert.Single(await LoginsAsync(local.Id).WaitAsync(Timeout));
        Assert.Equal(sso.Provider.Issuer, login.LoginProvider);

        // Single sign-on now opens the local account (its email differs from the provider's).
        using (var viaProvider = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(viaProvider, person.Name).WaitAsync(Timeout)).Landing);
            Assert.Contains(localEmail, (await viaProvider.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(Timeout)).Html, StringComparison.Ordinal);
        }

        using (var unlinked = await client.PostFormAsync(OidcSignIn.AccountPath, "unlink-sso", []).WaitAsync(Timeout))
        {
            var html = await AccountTestClient.BodyAsync(unlinked);
            Assert.Equal(HttpStatusCode.OK, unlinked.StatusCode);
            Assert.Contains(WebUtility.HtmlEncode(OidcAccountLink.MessageFor("unlinked")!), html, StringComparison.Ordinal);
        }

        Assert.Empty(await LoginsAsync(local.Id).WaitAsync(Timeout));
        // The password still works, and the provider identity no longer opens this account.
        using (var again = new AccountTestClient(sso.App.BaseAddress))
        {
            await again.SignInOrFailAsync(localEmail, TestAccounts.Password);
        }

        var audited = await AuditTestSupport.WaitForAsync(sso.App, e => e.ActorId == local.Id && e.Action is AuditActions.SsoLinked or AuditActions.SsoUnlinked, count: 2);
        Assert.Equal([(AuditActions.SsoLinked, AuditOutcome.Success), (AuditActions.SsoUnlinked, AuditOutcome.Success)], audited.Select(e => (e.Action, e.Outcome)));
        Assert.All(audited, e => Assert.Equal((localEmail, localEmail), (e.Actor, e.Target)));
    }

    [Fact]
    public async Task An_identity_linked_to_another_account_is_refused_and_neither_account_changes()
    {
        var person = await sso.AddProviderUserAsync("owned").WaitAsync(Timeout);
        using (var owner = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(owner, person.Name).WaitAsync(Timeout)).Landing);
        }

        var ownerAccount = (await FindAsync(person.Email).WaitAsync(Timeout))!;
        var localEmail = TestAccounts.NewEmail("would-be-owner");
        var local = await TestAccounts.AddAsync(sso.App, localEmail, IrisRoles.Admin);
        using var client = new AccountTestClient(sso.App.BaseAddress);
        await client.SignInOrFailAsync(localEmail, TestAccounts.Password);

        var landing = await LinkAsync(client, person.Name).WaitAsync(Timeout);

        Assert.Equal(OidcSignIn.AccountPageFor(OidcLinkOutcome.Taken), landing);
        var (_, html) = await client.GetAsync(landing!).WaitAsync(Timeout);
        Assert.Contains(WebUtility.HtmlEncode(OidcAccountLink.MessageFor("taken")!), html, StringComparison.Ordinal);
        Assert.Empty(await LoginsAsync(local.Id).WaitAsync(Timeout));
        Assert.Single(await LoginsAsync(ownerAccount.Id).WaitAsync(Timeout));
        // Still signed in as before: the refusal ends nothing.
        Assert.Contains(localEmail, (await client.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(Timeout)).Html, StringComparison.Ordinal);
        var refused = Assert.Single(await AuditTestSupport.WaitForAsync(sso.App, e => e.ActorId == local.Id && e.Action == AuditActions.SsoLinked));
        Assert.Equal(AuditOutcome.Failure, refused.Outcome);
        Assert.Contains("already linked to another account", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_account_made_by_single_sign_on_has_no_password_and_cannot_unlink()
    {
        var person = await sso.AddProviderUserAsync("sso-only").WaitAsync(Timeout);
        using var client = new AccountTestClient(sso.App.BaseAddress);
        Assert.Equal("/", (await sso.SignInAsync(client, person.Name).WaitAsync(Timeout)).Landing);

        var (_, page) = await client.GetAsync(OidcSignIn.AccountPath).WaitAsync(Timeout);
        using var forced = await client.PostFormAsync(OidcSignIn.AccountPath, "unlink-sso", []).WaitAsync(Timeout);

        Assert.Contains("data-testid=\"sso-no-password\"", page, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"sso-unlink\"", page, StringComparison.Ordinal);
        // The page has no unlink form to post: Blazor refuses the post itself.
        Assert.Equal(HttpStatusCode.BadRequest, forced.StatusCode);
        var account = (await FindAsync(person.Email).WaitAsync(Timeout))!;
        await using (var scope = sso.App.Services.CreateAsyncScope())
        {
            var users = scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>();
            var outcome = await scope.ServiceProvider.GetRequiredService<OidcAccountLink>().UnlinkAsync((await users.FindByIdAsync(account.Id))!, CancellationToken.None).WaitAsync(Timeout);
            Assert.Equal(OidcLinkOutcome.NoPassword, outcome);
        }

        Assert.Single(await LoginsAsync(account.Id).WaitAsync(Timeout));
        var refused = Assert.Single(await AuditTestSupport.WaitForAsync(sso.App, e => e.ActorId == account.Id && e.Action == AuditActions.SsoUnlinked));
        Assert.Equal((AuditOutcome.Failure, "the account has no password"), (refused.Outcome, refused.Detail));
    }

    [Fact]
    public async Task Single_sign_ins_new_accounts_and_failed_callbacks_are_audited()
    {
        var person = await sso.AddProviderUserAsync("audited-sso", OidcAppFixture.TeacherGroup).WaitAsync(Timeout);
        using (var client = new AccountTestClient(sso.App.BaseAddress))
        {
            Assert.Equal("/", (await sso.SignInAsync(client, person.Name).WaitAsync(Timeout)).Landing);
            var forged = await OidcAppFixture.CompleteAsync(client, new Uri(sso.App.BaseAddress, "signin-oidc?code=forged&state=forged")).WaitAsync(Timeout);
            Assert.Equal(OidcSignIn.SignInPageFor(OidcSignInOutcome.Failed), forged.Callback);
        }

        var account = (await FindAsync(person.Email).WaitAsync(Timeout))!;
        var created = Assert.Single(await AuditTestSupport.WaitForAsync(sso.App, e => e.Action == AuditActions.UserCreated && e.Target == person.Email));
        Assert.Equal(("system", "role Instructor; first single sign-on, linked by issuer and subject"), (created.Actor, created.Detail));
        var signedIn = Assert.Single(await AuditTestSupport.WaitForAsync(sso.App, e => e.Action == AuditActions.SignInSucceeded && e.ActorId == account.Id));
        Assert.Equal((person.Email, "single sign-on as Instructor", "127.0.0.1"), (signedIn.Actor, signedIn.Detail, signedIn.ClientIp));
        await AuditTestSupport.DrainAsync(sso.App.Services);
        Assert.Contains(await AuditTestSupport.AllAsync(sso.App.Services), e => e.Action == AuditActions.SsoCallbackFailed && e.Actor == "anonymous");
    }

    [Fact]
    public async Task Linking_needs_a_sign_in_and_an_anti_forgery_token()
    {
        using var anonymous = new AccountTestClient(sso.App.BaseAddress);
        using (var start = await anonymous.PostFormAsync(OidcSignIn.LinkPath, "link", [], tokenFrom: AccountsExtensions.SignInPath).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.Found, start.StatusCode);
            Assert.StartsWith(AccountsExtensions.SignInPath, anonymous.Target(start), StringComparison.Ordinal);
        }

        var email = TestAccounts.NewEmail("csrf-target");
        await TestAccounts.AddAsync(sso.App, email, IrisRoles.Student);
        using var client = new AccountTestClient(sso.App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        using var forged = await client.PostFormAsync(OidcSignIn.LinkPath, "link", [], withAntiforgery: false).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    /// <summary>Presses the page's link button, signs in at the provider, and returns where the app finally sends the browser.</summary>
    private async Task<string?> LinkAsync(AccountTestClient client, string username)
    {
        using var start = await client.PostFormAsync(OidcSignIn.LinkPath, "link", [], tokenFrom: OidcSignIn.AccountPath);
        Assert.True(start.StatusCode == HttpStatusCode.Found, $"link: {start.StatusCode}");
        using var toLogin = await client.Http.GetAsync(start.Headers.Location!).WaitAsync(AccountTestClient.Timeout);
        Assert.True(toLogin.StatusCode == HttpStatusCode.Found, $"authorize: {toLogin.StatusCode}");
        var login = QueryHelpers.ParseQuery(toLogin.Headers.Location!.Query);
        using (var auth = await client.Http.PostAsJsonAsync(new Uri(sso.Provider.ApiAddress, "auth/"), new JsonObject { ["username"] = username, ["password"] = OidcAppFixture.Password }).WaitAsync(AccountTestClient.Timeout))
        {
            Assert.Equal(HttpStatusCode.OK, auth.StatusCode);
        }

        using (var grant = await client.Http.PutAsJsonAsync(new Uri(sso.Provider.ApiAddress, $"auth/grant/{OidcAppFixture.ClientId}"), new JsonObject { ["scope"] = login["scope"].ToString() }).WaitAsync(AccountTestClient.Timeout))
        {
            Assert.Equal(HttpStatusCode.OK, grant.StatusCode);
        }

        using var toApp = await client.Http.GetAsync(new Uri(login["callback_url"] + "&g_continue")).WaitAsync(AccountTestClient.Timeout);
        var appCallback = toApp.Headers.Location;
        Assert.True(appCallback is not null && appCallback.AbsolutePath == OidcSignIn.CallbackPath, $"continue: {toApp.StatusCode} {appCallback}");
        using var callback = await client.Http.GetAsync(appCallback).WaitAsync(AccountTestClient.Timeout);
        var next = client.Target(callback);
        if (next is null || !next.StartsWith(OidcSignIn.LinkDonePath, StringComparison.Ordinal))
        {
            return next;
        }

        using var done = await client.Http.GetAsync(next).WaitAsync(AccountTestClient.Timeout);
        return client.Target(done);
    }

    private async Task<IList<UserLoginInfo>> LoginsAsync(string userId)
    {
        await using var scope = sso.App.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>();
        return await users.GetLoginsAsync((await users.FindByIdAsync(userId))!);
    }

    private async Task<IrisUser?> FindAsync(string email)
    {
        await using var scope = sso.App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>().FindByEmailAsync(email);
    }
}
