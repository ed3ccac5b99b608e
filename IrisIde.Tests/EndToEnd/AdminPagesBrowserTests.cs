using System.Globalization;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Audit;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using IrisIde.Web.Components.Account;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The admin pages in Debian's chromium: an admin signs in on the real page, adds a user and reads the one-time
/// password (once), changes the role, disables the user (who then cannot sign in), resets the password; the audit
/// page lists what those actions recorded and its filters narrow it; nobody else gets either page. Nothing here
/// runs a program.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
public sealed class AdminPagesBrowserTests(IdeFixture ide, AdminPagesAppFixture admin) : IClassFixture<AdminPagesAppFixture>
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    private IrisWebApp App => admin.App;

    [Fact]
    public async Task An_admin_manages_a_user_on_the_users_page_and_finds_each_action_on_the_audit_page()
    {
        var adminEmail = TestAccounts.NewEmail("browser-admin");
        await TestAccounts.AddAsync(App, adminEmail, IrisRoles.Admin);
        await using var adminContext = await ide.NewContextAsync(App);
        var page = await adminContext.NewPageAsync().WaitAsync(Timeout);
        await page.GotoAsync("/admin/users").WaitAsync(Timeout);
        await page.WaitForURLAsync("**/account/signin?returnUrl=%2Fadmin%2Fusers").WaitAsync(Timeout);
        await SignInForm.SubmitAsync(page, adminEmail, TestAccounts.Password);
        await page.WaitForURLAsync("**/admin/users").WaitAsync(Timeout);

        // Added without a password: the page shows a one-time password, and only in the answer to the add.
        var userEmail = TestAccounts.NewEmail("browser-user");
        await page.GetByTestId("new-email").FillAsync(userEmail).WaitAsync(Timeout);
        await page.GetByTestId("new-role").SelectOptionAsync(IrisRoles.Student).WaitAsync(Timeout);
        await page.GetByTestId("add-user").ClickAsync().WaitAsync(Timeout);
        var oneTimePassword = (await page.GetByTestId("one-time-password").TextContentAsync().WaitAsync(Timeout))!.Trim();
        Assert.Matches("^[a-z2-9]{4}(-[a-z2-9]{4}){3}$", oneTimePassword);
        await page.GotoAsync("/admin/users").WaitAsync(Timeout);
        var row = page.Locator($"[data-testid=user-row][data-email='{userEmail}']");
        Assert.Equal("active · must change password", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        Assert.Equal(0, await page.GetByTestId("one-time-password").CountAsync().WaitAsync(Timeout));
        Assert.DoesNotContain(oneTimePassword, await page.ContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);

        // The password works (the user is sent on to replace it) until the admin disables the account.
        await using (var userContext = await ide.NewContextAsync(App))
        {
            var user = await userContext.NewPageAsync().WaitAsync(Timeout);
            await user.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
            await SignInForm.SubmitAsync(user, userEmail, oneTimePassword);
            await user.WaitForURLAsync("**/account/password?returnUrl=%2F").WaitAsync(Timeout);

            await row.GetByTestId("make-instructor").ClickAsync().WaitAsync(Timeout);
            Assert.Equal(IrisRoles.Instructor, await row.GetByTestId("role").TextContentAsync().WaitAsync(Timeout));
            await row.GetByTestId("disable").ClickAsync().WaitAsync(Timeout);
            Assert.Equal("disabled", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));

            // Its open sign-in ends (this app checks on every request), and a new one is refused.
            await user.GotoAsync("/account/password").WaitAsync(Timeout);
            await user.WaitForURLAsync(url => new Uri(url).AbsolutePath == AccountsExtensions.SignInPath).WaitAsync(Timeout);
            await SignInForm.SubmitAsync(user, userEmail, oneTimePassword);
            Assert.Equal(SignIn.FailedMessage, await user.GetByTestId("form-error").TextContentAsync().WaitAsync(Timeout));
        }

        // Enabled again with a reset password: a new one-time password, the old one no longer works.
        await row.GetByTestId("enable").ClickAsync().WaitAsync(Timeout);
        Assert.Equal("active · must change password", await row.GetByTestId("status").TextContentAsync().WaitAsync(Timeout));
        await row.GetByTestId("reset-password").ClickAsync().WaitAsync(Timeout);
        var resetPassword = (await page.GetByTestId("one-time-password").TextContentAsync().WaitAsync(Timeout))!.Trim();
        Assert.NotEqual(oneTimePassword, resetPassword);
        await page.GotoAsync("/admin/users").WaitAsync(Timeout);
        Assert.Equal(0, await page.GetByTestId("one-time-password").CountAsync().WaitAsync(Timeout));
        await using (var userContext = await ide.NewContextAsync(App))
        {
            var user = await userContext.NewPageAsync().WaitAsync(Timeout);
            await user.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
            await SignInForm.SubmitAsync(user, userEmail, oneTimePassword);
            Assert.Equal(SignIn.FailedMessage, await user.GetByTestId("form-error").TextContentAsync().WaitAsync(Timeout));
            await SignInForm.SubmitAsync(user, userEmail, resetPassword);
            await user.WaitForURLAsync("**/account/password?returnUrl=%2F").WaitAsync(Timeout);
        }

        // The audit log is written in the background: wait for the last of these before reading the page.
        await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SignInSucceeded && e.Target == userEmail, count: 2);
        await page.GotoAsync("/admin/audit").WaitAsync(Timeout);
        await page.GetByTestId("filter-actor").FillAsync(adminEmail).WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("actor=", StringComparison.Ordinal)).WaitAsync(Timeout);
        var byAdmin = await RowsAsync(page);
        // Newest first: everything the admin did to the user, after the admin's own sign-in.
        Assert.Equal(
            [
                (AuditActions.PasswordReset, userEmail), (AuditActions.UserEnabled, userEmail), (AuditActions.UserDisabled, userEmail),
                (AuditActions.RoleChanged, userEmail), (AuditActions.UserCreated, userEmail), (AuditActions.SignInSucceeded, adminEmail),
            ],
            byAdmin.Select(r => (r.Action, r.Target)));
        Assert.Equal("Student -> Instructor", byAdmin.Single(r => r.Action == AuditActions.RoleChanged).Detail);

        // The action filter, on top of the actor's.
        await page.GetByTestId("filter-action").SelectOptionAsync(AuditActions.UserDisabled).WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("action=user.disabled", StringComparison.Ordinal)).WaitAsync(Timeout);
        var disabled = Assert.Single(await RowsAsync(page));
        Assert.Equal((adminEmail, AuditActions.UserDisabled, userEmail, "success"), (disabled.Actor, disabled.Action, disabled.Target, disabled.Outcome));

        // The refused sign-ins of the disabled and the old password are anonymous, found by action and kept apart by reason.
        await page.GetByTestId("filter-action").SelectOptionAsync(AuditActions.SignInFailed).WaitAsync(Timeout);
        await page.GetByTestId("filter-actor").FillAsync("anonymous").WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains("actor=anonymous", StringComparison.Ordinal)).WaitAsync(Timeout);
        var failed = (await RowsAsync(page)).Where(r => r.Target == userEmail).ToList();
        Assert.Equal(["password: wrong password", "password: disabled"], failed.Select(r => r.Detail));

        // Dates are whole UTC days: from tomorrow nothing, up to today everything of the admin.
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        await page.GotoAsync($"/admin/audit?actor={Uri.EscapeDataString(adminEmail)}").WaitAsync(Timeout);
        await page.GetByTestId("filter-from").FillAsync(today.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)).WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.GetByTestId("no-entries").WaitForAsync().WaitAsync(Timeout);
        await page.GetByTestId("filter-from").FillAsync("").WaitAsync(Timeout);
        var to = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        await page.GetByTestId("filter-to").FillAsync(to).WaitAsync(Timeout);
        await page.GetByTestId("filter").ClickAsync().WaitAsync(Timeout);
        await page.WaitForURLAsync(url => url.Contains($"from=&to={to}", StringComparison.Ordinal)).WaitAsync(Timeout);
        Assert.Equal(byAdmin.Count, (await RowsAsync(page)).Count);
    }

    [Theory]
    [InlineData(IrisRoles.Student)]
    [InlineData(IrisRoles.Instructor)]
    public async Task Anyone_but_an_admin_is_refused_both_admin_pages(string role)
    {
        var email = TestAccounts.NewEmail($"browser-{role.ToLowerInvariant()}");
        await TestAccounts.AddAsync(App, email, role);
        await using var anonymousContext = await ide.NewContextAsync(App);
        var anonymous = await anonymousContext.NewPageAsync().WaitAsync(Timeout);
        await using var context = await ide.NewContextAsync(App);
        var page = await SignInForm.SignedInPageAsync(context, email);

        await anonymous.GotoAsync("/admin/audit").WaitAsync(Timeout);
        await anonymous.WaitForURLAsync("**/account/signin?returnUrl=%2Fadmin%2Faudit").WaitAsync(Timeout);
        foreach (var path in new[] { "/admin/users", "/admin/audit" })
        {
            var denied = await page.GotoAsync(path).WaitAsync(Timeout);
            Assert.Equal(403, denied!.Status);
            Assert.Equal("Not allowed", await page.GetByTestId("denied").TextContentAsync().WaitAsync(Timeout));
            Assert.Equal(0, await page.GetByTestId("user-table").CountAsync().WaitAsync(Timeout));
            Assert.Equal(0, await page.GetByTestId("audit-filter").CountAsync().WaitAsync(Timeout));
        }
    }

    private sealed record AuditRow(string Actor, string Action, string Target, string Outcome, string Detail);

    private static async Task<List<AuditRow>> RowsAsync(IPage page)
    {
        var rows = new List<AuditRow>();
        foreach (var row in await page.GetByTestId("audit-row").AllAsync().WaitAsync(Timeout))
        {
            async Task<string> Cell(string id) => ((await row.GetByTestId(id).TextContentAsync().WaitAsync(Timeout)) ?? "").Trim();
            rows.Add(new AuditRow(await Cell("actor"), await Cell("action"), await Cell("target"), await Cell("outcome"), await Cell("detail")));
        }

        return rows;
    }
}

/// <summary>
/// The admin pages' app: sign-ins re-checked on every request (a disabled user's open session ends at once), and
/// sandbox uids of its own (64900-64915; nothing runs in it).
/// </summary>
public sealed class AdminPagesAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 64900;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
    };
}
