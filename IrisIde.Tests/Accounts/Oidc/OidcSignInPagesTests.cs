using IrisIde.Tests.EndToEnd;
using IrisIde.Web.Accounts;
using Microsoft.Playwright;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>
/// Single sign-on through the real pages in Debian's chromium (the end-to-end fixture's browser): our sign-in
/// page's button, glewlwyd's own login and consent pages, and back, signed in with the mapped role.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Glewlwyd")]
public sealed class OidcSignInPagesTests(IdeFixture ide, OidcBrowserAppFixture sso) : IClassFixture<OidcBrowserAppFixture>
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task A_provider_admin_signs_in_through_the_pages_as_admin_and_a_provider_student_is_kept_off_the_admin_page()
    {
        var admin = await sso.AddProviderUserAsync("page-admin", OidcAppFixture.AdminGroup).WaitAsync(Timeout);
        await using (var browser = await NewContextAsync())
        {
            var page = await browser.NewPageAsync().WaitAsync(Timeout);
            await page.GotoAsync("/admin/users").WaitAsync(Timeout);
            await page.WaitForURLAsync("**/account/signin?returnUrl=%2Fadmin%2Fusers").WaitAsync(Timeout);
            Assert.Equal($"Sign in with {OidcAppFixture.DisplayName}", (await page.GetByTestId("sso-sign-in").TextContentAsync().WaitAsync(Timeout))?.Trim());
            await ShootAsync(page, "sign-in-with-sso.png");

            await page.GetByTestId("sso-sign-in").ClickAsync().WaitAsync(Timeout);
            Assert.Equal(200, await SignInAtTheProviderAsync(page, admin.Name, OidcAppFixture.Password));
            await ConsentAtTheProviderAsync(page);

            await page.WaitForURLAsync(url => url.StartsWith(sso.App.BaseAddress.ToString(), StringComparison.Ordinal) && new Uri(url).AbsolutePath == "/admin/users").WaitAsync(Timeout);
            Assert.Equal(admin.Email, await page.GetByTestId("signed-in-user").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(IrisRoles.Admin, await page.GetByTestId("signed-in-role").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(1, await page.Locator($"[data-testid=user-row][data-email='{admin.Email}']").CountAsync().WaitAsync(Timeout));
        }

        var student = await sso.AddProviderUserAsync("page-student", "some-unmapped-group").WaitAsync(Timeout);
        await using (var browser = await NewContextAsync())
        {
            var page = await browser.NewPageAsync().WaitAsync(Timeout);
            await page.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
            await page.GetByTestId("sso-sign-in").ClickAsync().WaitAsync(Timeout);
            Assert.Equal(200, await SignInAtTheProviderAsync(page, student.Name, OidcAppFixture.Password));
            await ConsentAtTheProviderAsync(page);

            await page.WaitForURLAsync(url => url.StartsWith(sso.App.BaseAddress.ToString(), StringComparison.Ordinal) && new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
            var denied = await page.GotoAsync("/admin/users").WaitAsync(Timeout);
            Assert.Equal(403, denied!.Status);
            Assert.Equal(student.Email, await page.GetByTestId("signed-in-user").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(IrisRoles.Student, await page.GetByTestId("signed-in-role").TextContentAsync().WaitAsync(Timeout));
        }
    }

    [Fact]
    public async Task A_wrong_password_at_the_provider_keeps_the_browser_there_and_signed_out_of_the_app()
    {
        var person = await sso.AddProviderUserAsync("page-wrong", OidcAppFixture.AdminGroup).WaitAsync(Timeout);
        await using var browser = await NewContextAsync();
        var page = await browser.NewPageAsync().WaitAsync(Timeout);
        await page.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
        await page.GetByTestId("sso-sign-in").ClickAsync().WaitAsync(Timeout);

        var check = await SignInAtTheProviderAsync(page, person.Name, "not the password");

        // glewlwyd refuses the password and keeps its login form: nothing goes back to the app.
        Assert.Equal(401, check);
        await page.Locator("#password").WaitForAsync().WaitAsync(Timeout);
        Assert.Equal(0, await page.Locator("#grant-profile").CountAsync().WaitAsync(Timeout));
        Assert.StartsWith(sso.Provider.BaseAddress.ToString(), page.Url, StringComparison.Ordinal);
        await page.GotoAsync(new Uri(sso.App.BaseAddress, "admin/users").ToString()).WaitAsync(Timeout);
        await page.WaitForURLAsync("**/account/signin?returnUrl=%2Fadmin%2Fusers").WaitAsync(Timeout);
        Assert.Equal(0, await page.GetByTestId("signed-in-user").CountAsync().WaitAsync(Timeout));
    }

    /// <summary>glewlwyd's login page (login.html): login, password, OK; returns the status of the password check the page made.</summary>
    private async Task<int> SignInAtTheProviderAsync(IPage page, string username, string password)
    {
        await page.WaitForURLAsync(url => url.StartsWith(new Uri(sso.Provider.BaseAddress, "login.html").ToString(), StringComparison.Ordinal)).WaitAsync(Timeout);
        await page.Locator("#username").FillAsync(username).WaitAsync(Timeout);
        await page.Locator("#password").FillAsync(password).WaitAsync(Timeout);
        var check = await page.RunAndWaitForResponseAsync(
            () => page.Locator("#loginbut").ClickAsync(),
            response => response.Request.Method == "POST" && new Uri(response.Url).AbsolutePath == "/api/auth/").WaitAsync(Timeout);
        return check.Status;
    }

    /// <summary>glewlwyd's consent for a user's first sign-in to this client: the scopes, Grant access, Continue.</summary>
    private static async Task ConsentAtTheProviderAsync(IPage page)
    {
        await page.Locator("#grant-profile").CheckAsync().WaitAsync(Timeout);
        await page.Locator("#grant-email").CheckAsync().WaitAsync(Timeout);
        await page.GetByRole(AriaRole.Button, new() { Name = "Grant access" }).ClickAsync().WaitAsync(Timeout);
        await page.Locator("button[title='Continue to client application']").ClickAsync().WaitAsync(Timeout);
    }

    private async Task<IBrowserContext> NewContextAsync()
    {
        var context = await ide.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = sso.App.BaseAddress.ToString(),
            ViewportSize = IdeFixture.Viewport,
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(Timeout);
        context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        return context;
    }

    /// <summary>A picture of the page in the test output's screenshots folder, for review (not compared).</summary>
    private static async Task ShootAsync(IPage page, string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = true }).WaitAsync(Timeout);
    }
}
