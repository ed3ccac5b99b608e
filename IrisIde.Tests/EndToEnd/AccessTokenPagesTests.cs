using System.Globalization;
using System.Net;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The server as shipped (anonymous runs off) in Debian's chromium: an anonymous visitor of the IDE is offered
/// "Sign in to run", signs in, comes back and runs code through the hub on the cookie; then makes a token on
/// the tokens page, which runs code on <c>/ws</c> until it is revoked there.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class AccessTokenPagesTests(IdeFixture ide)
{
    private const int SandboxUid = 63780;
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task An_anonymous_visitor_signs_in_to_run_then_creates_uses_and_revokes_a_token()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        var email = TestAccounts.NewEmail("tokens-page");
        await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        await using var browser = await ide.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.BaseAddress.ToString(),
            ViewportSize = IdeFixture.Viewport,
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(Timeout);
        browser.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        var page = await browser.NewPageAsync().WaitAsync(Timeout);

        // Anonymous: the editor is there, Run is replaced by a way to sign in.
        await page.GotoAsync("/").WaitAsync(Timeout);
        await page.GetByTestId("sign-in-to-run").WaitForAsync().WaitAsync(Timeout);
        Assert.Equal(0, await page.GetByTestId("run-button").CountAsync().WaitAsync(Timeout));
        Assert.Contains("Sign in to run", await page.GetByTestId("status-line").InnerTextAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        await page.GetByTestId("sign-in-to-run").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync("**/account/signin?returnUrl=%2F").WaitAsync(Timeout);
        await page.GetByTestId("email").FillAsync(email).WaitAsync(Timeout);
        await page.GetByTestId("password").FillAsync(TestAccounts.Password).WaitAsync(Timeout);
        await page.GetByTestId("submit").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
        await page.CloseAsync().WaitAsync(Timeout);

        // Signed in: the IDE runs code (its hub connection carries the cookie). The page's context is the
        // browser's, closed with it at the end.
        var signedIn = await IdePage.OpenAsync(browser).WaitAsync(Timeout * 3);
        await signedIn.RunAsync("python", "print('signed in, anonymous runs off')\n");
        await signedIn.WaitForTerminalTextAsync("signed in, anonymous runs off");
        Assert.Empty(signedIn.Problems);

        var tokens = signedIn.Page;
        await tokens.GetByTestId("tokens-link").ClickAsync().WaitAsync(Timeout);
        await tokens.WaitForURLAsync("**/account/tokens").WaitAsync(Timeout);
        await tokens.GetByTestId("no-tokens").WaitForAsync().WaitAsync(Timeout);
        await tokens.GetByTestId("token-name").FillAsync("grader").WaitAsync(Timeout);
        await tokens.GetByTestId("token-days").FillAsync("7").WaitAsync(Timeout);
        await tokens.GetByTestId("scope-runs-read").UncheckAsync().WaitAsync(Timeout);
        await tokens.GetByTestId("create-token").ClickAsync().WaitAsync(Timeout);
        var token = (await tokens.GetByTestId("new-token").TextContentAsync().WaitAsync(Timeout))!.Trim();
        Assert.Matches("^iris_pat_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$", token);
        var row = tokens.GetByTestId("token-row");
        Assert.Equal(("grader", "runs", "active", "never"), (
            await row.GetByTestId("name").TextContentAsync().WaitAsync(Timeout),
            await row.GetByTestId("scopes").TextContentAsync().WaitAsync(Timeout),
            await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout),
            await row.GetByTestId("last-used").TextContentAsync().WaitAsync(Timeout)));

        // The secret is shown once: the page opened again lists the token without it.
        await tokens.GotoAsync("/account/tokens").WaitAsync(Timeout);
        Assert.Equal(0, await tokens.GetByTestId("new-token").CountAsync().WaitAsync(Timeout));
        Assert.Equal(1, await tokens.GetByTestId("token-row").CountAsync().WaitAsync(Timeout));
        Assert.DoesNotContain(token[^43..], await tokens.ContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);

        await using (var run = await RunnerTestClient.ConnectAsync(new Uri($"ws://{app.BaseAddress.Authority}/ws?access_token={token}")))
        {
            await run.SendCodeAsync("python", "print('from the token')\n");
            await run.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("from the token\n", run.Text("stdout"));
        }

        await tokens.GotoAsync("/account/tokens").WaitAsync(Timeout);
        Assert.NotEqual("never", await tokens.GetByTestId("token-row").GetByTestId("last-used").TextContentAsync().WaitAsync(Timeout));
        await tokens.GetByTestId("revoke").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("revoked", await tokens.GetByTestId("token-row").GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal(HttpStatusCode.Unauthorized, await AccessTokenTests.UpgradeStatusAsync(app.WebSocketUri, AccessTokenTests.Bearer(token)));
    }
}
