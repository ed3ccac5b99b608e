using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using Microsoft.AspNetCore.WebUtilities;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>
/// A real glewlwyd and the real web app configured to use it for single sign-on, started once for the tests
/// of a class. The provider's <c>role</c> claim maps <see cref="TeacherGroup"/> to Instructor and
/// <see cref="AdminGroup"/> to Admin; anything else makes a Student.
/// </summary>
public class OidcAppFixture : IAsyncLifetime
{
    public const string ClientId = "irisapp";

    public const string DisplayName = "Glewlwyd";

    public const string TeacherGroup = "teacher";

    public const string AdminGroup = "iris-admins";

    /// <summary>Every provider user's password in these tests.</summary>
    public const string Password = "provider-pass-1";

    private readonly string _clientSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
    private GlewlwydProvider? _provider;
    private IrisWebApp? _app;

    public GlewlwydProvider Provider => _provider ?? throw new InvalidOperationException("glewlwyd has not started.");

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    /// <summary>The sandbox uids of this fixture's app (no runs happen, but no two apps may share a range).</summary>
    protected virtual int SandboxUid => 63420;

    public async Task InitializeAsync()
    {
        _provider = await GlewlwydProvider.StartAsync();
        _app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:Oidc:Authority"] = _provider.Issuer,
            ["Iris:Auth:Oidc:ClientId"] = ClientId,
            ["Iris:Auth:Oidc:ClientSecret"] = _clientSecret,
            ["Iris:Auth:Oidc:DisplayName"] = DisplayName,
            ["Iris:Auth:Oidc:RoleClaim"] = "role",
            [$"Iris:Auth:Oidc:RoleMap:{TeacherGroup}"] = IrisRoles.Instructor,
            [$"Iris:Auth:Oidc:RoleMap:{AdminGroup}"] = IrisRoles.Admin,
            ["Iris:Auth:Oidc:DefaultRole"] = IrisRoles.Student,
            // Every request re-checks the sign-in against the account, so a disabled user is out at once.
            ["Iris:Auth:SessionRecheckSeconds"] = "0",
            ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        // The app's port is known only now; the provider accepts no other redirect URI.
        await _provider.AddClientAsync(ClientId, _clientSecret, new Uri(_app.BaseAddress, OidcSignIn.CallbackPath.TrimStart('/')));
    }

    /// <summary>A provider user with a fresh name and email (the email at <c>example.edu</c>, like local test accounts).</summary>
    public async Task<ProviderUser> AddProviderUserAsync(string who, params string[] roles)
    {
        var name = $"{who}-{Guid.NewGuid():N}";
        var user = new ProviderUser(name, $"{name}@example.edu");
        await Provider.AddUserAsync(user.Name, Password, user.Email, roles);
        return user;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_provider is not null)
        {
            await _provider.DisposeAsync();
        }
    }

    /// <summary>
    /// Single sign-on without a browser, one redirect at a time: the sign-in page's button, the provider's
    /// authorize endpoint, what its login page does (the password, then the consent), back to the app's
    /// callback, and the app's landing that signs in. Stops early, and says where, when a step is refused.
    /// </summary>
    internal async Task<SsoResult> SignInAsync(AccountTestClient client, string username, string password = Password, string returnUrl = "/", string clientId = ClientId)
    {
        var toProvider = await StartAsync(client, returnUrl);
        var toLogin = await FollowAsync(client, toProvider);
        Assert.True(toLogin.StatusCode == HttpStatusCode.Found, $"authorize: {toLogin.StatusCode}");
        var login = QueryHelpers.ParseQuery(toLogin.Headers.Location!.Query);
        var callback = login["callback_url"].ToString();
        var scope = login["scope"].ToString();

        using (var auth = await client.Http.PostAsJsonAsync(new Uri(Provider.ApiAddress, "auth/"), new JsonObject { ["username"] = username, ["password"] = password }).WaitAsync(AccountTestClient.Timeout))
        {
            if (auth.StatusCode != HttpStatusCode.OK)
            {
                return new SsoResult(SsoStep.ProviderRefusedPassword, null, null);
            }
        }

        using (var grant = await client.Http.PutAsJsonAsync(new Uri(Provider.ApiAddress, $"auth/grant/{clientId}"), new JsonObject { ["scope"] = scope }).WaitAsync(AccountTestClient.Timeout))
        {
            Assert.True(grant.StatusCode == HttpStatusCode.OK, $"consent: {grant.StatusCode}");
        }

        var toApp = await FollowAsync(client, new Uri(callback + "&g_continue"));
        var appCallback = toApp.Headers.Location;
        Assert.True(appCallback is not null && appCallback.AbsolutePath == OidcSignIn.CallbackPath, $"continue: {toApp.StatusCode} {appCallback}");
        var (landing, final) = await CompleteAsync(client, appCallback);
        return new SsoResult(SsoStep.BackAtTheApp, appCallback, final ?? landing);
    }

    /// <summary>Presses the sign-in page's button; returns where the app sends the browser (the provider).</summary>
    internal static async Task<Uri> StartAsync(AccountTestClient client, string returnUrl = "/")
    {
        using var start = await client.PostFormAsync(OidcSignIn.StartPath, "sso", [new("returnUrl", returnUrl)], tokenFrom: AccountsExtensions.SignInPath);
        Assert.True(start.StatusCode == HttpStatusCode.Found, $"start: {start.StatusCode} {await AccountTestClient.BodyAsync(start)}");
        return start.Headers.Location!;
    }

    /// <summary>
    /// Hands the provider's answer to the app's callback and follows the app's redirects on its own site;
    /// returns the callback's redirect and, when it went to the landing, the landing's.
    /// </summary>
    internal static async Task<(string? Callback, string? Final)> CompleteAsync(AccountTestClient client, Uri appCallback)
    {
        using var callback = await client.Http.GetAsync(appCallback).WaitAsync(AccountTestClient.Timeout);
        var next = client.Target(callback);
        if (next is null || !next.StartsWith(OidcSignIn.DonePath, StringComparison.Ordinal))
        {
            return (next ?? $"{(int)callback.StatusCode}", null);
        }

        using var landing = await client.Http.GetAsync(next).WaitAsync(AccountTestClient.Timeout);
        return (next, client.Target(landing) ?? $"{(int)landing.StatusCode}");
    }

    private static async Task<HttpResponseMessage> FollowAsync(AccountTestClient client, Uri location)
    {
        var response = await client.Http.GetAsync(location).WaitAsync(AccountTestClient.Timeout);
        response.Dispose();
        return response;
    }
}

/// <summary>The same, with sandbox uids of its own, for the browser tests' class.</summary>
public sealed class OidcBrowserAppFixture : OidcAppFixture
{
    protected override int SandboxUid => 63440;
}

public sealed record ProviderUser(string Name, string Email);

internal enum SsoStep
{
    ProviderRefusedPassword,
    BackAtTheApp,
}

/// <summary>How far a sign-in went: the app's callback URL it reached (for replays) and where the app sent the browser at the end.</summary>
internal sealed record SsoResult(SsoStep Step, Uri? AppCallback, string? Landing);
