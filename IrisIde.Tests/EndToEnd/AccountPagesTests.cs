using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Components.Account;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The account pages in Debian's chromium: the first-start set-up page, sign-in, the forced password change,
/// the admin users page, and the signed-in user in the IDE's top bar. Apps of their own (the set-up page
/// needs one without an admin); the browser is the end-to-end fixture's.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class AccountPagesTests(IdeFixture ide, AccountsAppFixture accounts) : IClassFixture<AccountsAppFixture>
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task The_first_visitor_of_the_set_up_link_creates_the_admin_and_the_link_then_shows_nothing()
    {
        await using var app = await IrisWebApp.StartAsync();
        var token = app.Services.GetRequiredService<AdminSetup>().Token!;
        await using var browser = await ide.NewContextAsync(app);
        var page = await browser.NewPageAsync().WaitAsync(Timeout);

        var setup = await page.GotoAsync($"/setup/{token}").WaitAsync(Timeout);
        Assert.Equal(200, setup!.Status);
        await page.GetByTestId("email").FillAsync("root@example.edu").WaitAsync(Timeout);
        await page.GetByTestId("password").FillAsync(TestAccounts.Password).WaitAsync(Timeout);
        await page.GetByTestId("confirm-password").FillAsync(TestAccounts.Password).WaitAsync(Timeout);
        await page.GetByTestId("submit").ClickAsync().WaitAsync(Timeout);

        await page.WaitForURLAsync("**/admin/users").WaitAsync(Timeout);
        Assert.Equal("root@example.edu", await page.GetByTestId("signed-in-user").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal(IrisRoles.Admin, await page.GetByTestId("signed-in-role").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal(1, await page.GetByTestId("user-row").CountAsync().WaitAsync(Timeout));

        var again = await page.GotoAsync($"/setup/{token}").WaitAsync(Timeout);
        Assert.Equal(404, again!.Status);
        Assert.Equal("Not found", await page.GetByTestId("not-found").TextContentAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task An_admin_adds_a_student_who_signs_in_with_the_one_time_password_changes_it_and_runs_code_in_the_ide()
    {
        var adminEmail = TestAccounts.NewEmail("page-admin");
        await TestAccounts.AddAsync(accounts.App, adminEmail, IrisRoles.Admin);
        await using var adminBrowser = await ide.NewContextAsync(accounts.App);
        var admin = await adminBrowser.NewPageAsync().WaitAsync(Timeout);

        // Admin pages send an anonymous visitor to sign in, and back afterwards.
        await admin.GotoAsync("/admin/users").WaitAsync(Timeout);
        await admin.WaitForURLAsync("**/account/signin?returnUrl=%2Fadmin%2Fusers").WaitAsync(Timeout);
        await SignInForm.SubmitAsync(admin, adminEmail, TestAccounts.Password);
        await admin.WaitForURLAsync("**/admin/users").WaitAsync(Timeout);

        var studentEmail = TestAccounts.NewEmail("page-student");
        await admin.GetByTestId("new-email").FillAsync(studentEmail).WaitAsync(Timeout);
        await admin.GetByTestId("new-role").SelectOptionAsync(IrisRoles.Student).WaitAsync(Timeout);
        await admin.GetByTestId("add-user").ClickAsync().WaitAsync(Timeout);
        var oneTimePassword = (await admin.GetByTestId("one-time-password").TextContentAsync().WaitAsync(Timeout))!.Trim();
        Assert.Matches("^[a-z2-9]{4}(-[a-z2-9]{4}){3}$", oneTimePassword);
        var row = admin.Locator($"[data-testid=user-row][data-email='{studentEmail}']");
        Assert.Equal("active · must change password", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));

        await using var studentBrowser = await ide.NewContextAsync(accounts.App);
        var student = await studentBrowser.NewPageAsync().WaitAsync(Timeout);
        await student.GotoAsync("/account/signin").WaitAsync(Timeout);
        await SignInForm.SubmitAsync(student, studentEmail, "not the password");
        Assert.Equal(SignIn.FailedMessage, await student.GetByTestId("form-error").TextContentAsync().WaitAsync(Timeout));
        await ShootAsync(student, "sign-in-failed.png");
        await SignInForm.SubmitAsync(student, studentEmail, oneTimePassword);

        // The one-time password must be replaced before anything else.
        await student.WaitForURLAsync("**/account/password?returnUrl=%2F").WaitAsync(Timeout);
        Assert.True(await student.GetByTestId("must-change-notice").IsVisibleAsync().WaitAsync(Timeout));
        await student.GetByTestId("current-password").FillAsync(oneTimePassword).WaitAsync(Timeout);
        await student.GetByTestId("new-password").FillAsync("the student's own password").WaitAsync(Timeout);
        await student.GetByTestId("confirm-password").FillAsync("the student's own password").WaitAsync(Timeout);
        await student.GetByTestId("submit").ClickAsync().WaitAsync(Timeout);
        await student.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);

        // In the IDE: the user in the top bar, and runs work.
        await using (var studentIde = await IdePage.OpenAsync(studentBrowser).WaitAsync(Timeout * 3))
        {
            Assert.Equal(studentEmail, await studentIde.Page.GetByTestId("signed-in-user").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(IrisRoles.Student, await studentIde.Page.GetByTestId("signed-in-role").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(0, await studentIde.Page.GetByTestId("admin-users-link").CountAsync().WaitAsync(Timeout));
            await studentIde.RunAsync("python", "print('signed in and running')\n");
            await studentIde.WaitForTerminalTextAsync("signed in and running");

            // A student is turned away from the admin page.
            var denied = await studentIde.Page.GotoAsync("/admin/users").WaitAsync(Timeout);
            Assert.Equal(403, denied!.Status);
            Assert.Equal("Not allowed", await studentIde.Page.GetByTestId("denied").TextContentAsync().WaitAsync(Timeout));
        }

        // The admin makes the student an instructor, disables and enables them, and resets the password.
        await admin.ReloadAsync().WaitAsync(Timeout);
        await row.GetByTestId("make-instructor").ClickAsync().WaitAsync(Timeout);
        Assert.Equal(IrisRoles.Instructor, await row.GetByTestId("role").TextContentAsync().WaitAsync(Timeout));
        await row.GetByTestId("disable").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("disabled", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        await row.GetByTestId("enable").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("active", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        await row.GetByTestId("reset-password").ClickAsync().WaitAsync(Timeout);
        var resetPassword = (await admin.GetByTestId("one-time-password").TextContentAsync().WaitAsync(Timeout))!.Trim();
        Assert.NotEqual(oneTimePassword, resetPassword);
        Assert.Equal("active · must change password", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        await ShootAsync(admin, "admin-users.png");

        // Sign-out from the top bar.
        await admin.GetByTestId("sign-out").ClickAsync().WaitAsync(Timeout);
        await admin.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
        await admin.GetByTestId("sign-in-link").WaitForAsync().WaitAsync(Timeout);
        Assert.Equal(0, await admin.GetByTestId("signed-in-user").CountAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task The_ide_offers_sign_in_to_an_anonymous_visitor_and_shows_the_user_after_it()
    {
        var email = TestAccounts.NewEmail("ide-user");
        await TestAccounts.AddAsync(accounts.App, email, IrisRoles.Instructor);
        await using var browser = await ide.NewContextAsync(accounts.App);
        await using var page = await IdePage.OpenAsync(browser).WaitAsync(Timeout * 3);

        await page.Page.GetByTestId("sign-in-link").ClickAsync().WaitAsync(Timeout);
        await page.Page.WaitForURLAsync("**/account/signin").WaitAsync(Timeout);
        await SignInForm.SubmitAsync(page.Page, email, TestAccounts.Password);
        await page.Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
        await page.WaitUntilReadyAsync();

        Assert.Equal(email, await page.Page.GetByTestId("signed-in-user").TextContentAsync().WaitAsync(Timeout));
        await page.Page.GetByTestId("sign-out").ClickAsync().WaitAsync(Timeout);
        await page.Page.GetByTestId("sign-in-link").WaitForAsync().WaitAsync(Timeout);
    }

    /// <summary>A picture of the page in the test output's screenshots folder, for review (not compared).</summary>
    private static async Task ShootAsync(IPage page, string name)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(folder, name), FullPage = true }).WaitAsync(Timeout);
    }
}
