using System.Net;
using System.Text.RegularExpressions;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// A browser without a browser: one cookie jar, no automatic redirects (tests look at each 302), and the
/// forms of the account pages posted the way a browser posts them (the anti-forgery token and the Blazor
/// form name read from the page first).
/// </summary>
internal sealed partial class AccountTestClient : IDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly HttpClientHandler _handler;

    public AccountTestClient(Uri baseAddress)
    {
        BaseAddress = baseAddress;
        _handler = new HttpClientHandler { CookieContainer = Cookies, AllowAutoRedirect = false, UseCookies = true };
        Http = new HttpClient(_handler) { BaseAddress = baseAddress, Timeout = Timeout };
    }

    public Uri BaseAddress { get; }

    public CookieContainer Cookies { get; } = new();

    public HttpClient Http { get; }

    /// <summary>The sign-in cookie's value, null when there is none.</summary>
    public string? SessionCookie => Cookies.GetCookies(BaseAddress)["iris.session"]?.Value;

    public void Dispose()
    {
        Http.Dispose();
        _handler.Dispose();
    }

    public async Task<(HttpStatusCode Status, string Html)> GetAsync(string path)
    {
        using var response = await Http.GetAsync(path).WaitAsync(Timeout);
        return (response.StatusCode, await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
    }

    /// <summary>The anti-forgery token a page carries (the one its forms post).</summary>
    public async Task<string> AntiforgeryTokenAsync(string fromPath)
    {
        var (status, html) = await GetAsync(fromPath);
        Assert.True(status == HttpStatusCode.OK, $"GET {fromPath}: {status}");
        return AntiforgeryToken(html);
    }

    public static string AntiforgeryToken(string html) =>
        TokenPattern().Match(html) is { Success: true } match ? WebUtility.HtmlDecode(match.Groups[1].Value) : throw new InvalidOperationException("no anti-forgery token on the page");

    /// <summary>
    /// Posts Blazor form <paramref name="formName"/> to <paramref name="path"/>, with the anti-forgery token of
    /// <paramref name="tokenFrom"/> (default: the page itself), or without one.
    /// </summary>
    public async Task<HttpResponseMessage> PostFormAsync(string path, string formName, IEnumerable<KeyValuePair<string, string>> fields, bool withAntiforgery = true, string? tokenFrom = null)
    {
        var all = new List<KeyValuePair<string, string>>(fields) { new("_handler", formName) };
        if (withAntiforgery)
        {
            all.Add(new("__RequestVerificationToken", await AntiforgeryTokenAsync(tokenFrom ?? path)));
        }

        using var content = new FormUrlEncodedContent(all);
        return await Http.PostAsync(path, content).WaitAsync(Timeout);
    }

    public Task<HttpResponseMessage> SignInAsync(string email, string password, string? returnUrl = null) =>
        PostFormAsync(
            returnUrl is null ? AccountsExtensions.SignInPath : $"{AccountsExtensions.SignInPath}?returnUrl={Uri.EscapeDataString(returnUrl)}",
            "signin",
            [new("Input.Email", email), new("Input.Password", password)]);

    /// <summary>Signs in and checks it worked (a redirect and a session cookie).</summary>
    public async Task SignInOrFailAsync(string email, string password)
    {
        using var response = await SignInAsync(email, password);
        Assert.True(response.StatusCode == HttpStatusCode.Found, $"sign-in of {email}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.NotNull(SessionCookie);
    }

    /// <summary>
    /// Where a redirect points: the path and query when it stays on this site (written absolute or relative),
    /// otherwise the whole location, so an off-site redirect never looks local.
    /// </summary>
    public string? Target(HttpResponseMessage response)
    {
        if (response.Headers.Location is not { } location)
        {
            return null;
        }

        if (!location.IsAbsoluteUri)
        {
            return location.OriginalString;
        }

        return location.Scheme == BaseAddress.Scheme && location.Authority == BaseAddress.Authority ? location.PathAndQuery : location.OriginalString;
    }

    public static async Task<string> BodyAsync(HttpResponseMessage response) =>
        await response.Content.ReadAsStringAsync().WaitAsync(Timeout);

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}

/// <summary>Accounts made straight through the service the admin page and commands use.</summary>
internal static class TestAccounts
{
    public const string Password = "a long test password";

    public static string NewEmail(string who) => $"{who}-{Guid.NewGuid():N}@example.edu";

    public static async Task<IrisUser> AddAsync(IrisWebApp app, string email, string role, string? password = Password)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<UserAdministration>().AddUserAsync(email, role, password, CancellationToken.None).WaitAsync(AccountTestClient.Timeout);
        Assert.True(result.Succeeded, result.Error);
        return result.User!;
    }

    public static async Task<T> WithAdministrationAsync<T>(IrisWebApp app, Func<UserAdministration, Task<T>> action)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<UserAdministration>()).WaitAsync(AccountTestClient.Timeout);
    }
}

/// <summary>
/// An app for the account tests: every request re-checks the sign-in against the account (a disabled user's
/// cookie is refused at once instead of within a minute), sandbox uids of its own.
/// </summary>
public sealed class AccountsAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 63400;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
    };
}
