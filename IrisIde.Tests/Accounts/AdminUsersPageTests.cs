using System.Net;
using System.Text.RegularExpressions;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;

namespace IrisIde.Tests.Accounts;

/// <summary>The admin users page over HTTP: what admins can do there, and that nobody else can, form POSTs included.</summary>
public sealed partial class AdminUsersPageTests(AccountsAppFixture fixture) : IClassFixture<AccountsAppFixture>
{
    private const string UsersPath = "/admin/users";

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task An_anonymous_visitor_is_sent_to_sign_in()
    {
        using var client = new AccountTestClient(App.BaseAddress);

        using var response = await client.Http.GetAsync(UsersPath).WaitAsync(AccountTestClient.Timeout);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"{AccountsExtensions.SignInPath}?returnUrl=%2Fadmin%2Fusers", client.Target(response));
    }

    [Theory]
    [InlineData(IrisRoles.Student)]
    [InlineData(IrisRoles.Instructor)]
    public async Task A_signed_in_non_admin_is_refused_the_page_and_its_posts(string role)
    {
        var email = TestAccounts.NewEmail(role.ToLowerInvariant());
        await TestAccounts.AddAsync(App, email, role);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);

        using (var page = await client.Http.GetAsync(UsersPath).WaitAsync(AccountTestClient.Timeout))
        {
            Assert.Equal(HttpStatusCode.Found, page.StatusCode);
            Assert.StartsWith(AccountsExtensions.DeniedPath, client.Target(page), StringComparison.Ordinal);
        }

        var (deniedStatus, _) = await client.GetAsync(AccountsExtensions.DeniedPath);
        Assert.Equal(HttpStatusCode.Forbidden, deniedStatus);

        // A valid anti-forgery token of this user does not help: authorization comes first.
        var victim = await TestAccounts.AddAsync(App, TestAccounts.NewEmail("victim"), IrisRoles.Student);
        var wouldBe = TestAccounts.NewEmail("sneaked-in");
        using (var add = await client.PostFormAsync(UsersPath, "add-user", [new("NewUser.Email", wouldBe), new("NewUser.Role", IrisRoles.Admin)], tokenFrom: AccountsExtensions.ChangePasswordPath))
        {
            Assert.Equal(HttpStatusCode.Found, add.StatusCode);
            Assert.StartsWith(AccountsExtensions.DeniedPath, client.Target(add), StringComparison.Ordinal);
        }

        using (var promote = await client.PostFormAsync(UsersPath, "user-action", [new("Act.Command", $"role:Admin:{victim.Id}")], tokenFrom: AccountsExtensions.ChangePasswordPath))
        {
            Assert.Equal(HttpStatusCode.Found, promote.StatusCode);
        }

        var users = await TestAccounts.WithAdministrationAsync(App, a => a.ListAsync(CancellationToken.None));
        Assert.DoesNotContain(users, u => u.Email == wouldBe);
        Assert.Equal(IrisRoles.Student, Assert.Single(users, u => u.Id == victim.Id).Role);
    }

    [Fact]
    public async Task An_admin_adds_a_user_whose_one_time_password_is_shown_once_and_works_once_changed()
    {
        using var admin = await SignedInAdminAsync();
        var email = TestAccounts.NewEmail("new-student");

        using var added = await admin.PostFormAsync(UsersPath, "add-user", [new("NewUser.Email", email), new("NewUser.Role", IrisRoles.Instructor)]);
        var html = await AccountTestClient.BodyAsync(added);

        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        var password = OneTimePasswordPattern().Match(html).Groups[1].Value;
        Assert.Matches("^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", password);
        Assert.Contains($"data-email=\"{email}\"", html, StringComparison.Ordinal);
        // Shown once: the next view of the page does not have it.
        var (_, later) = await admin.GetAsync(UsersPath);
        Assert.DoesNotContain(password, later, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"one-time-password\"", later, StringComparison.Ordinal);

        var user = Assert.Single(await TestAccounts.WithAdministrationAsync(App, a => a.ListAsync(CancellationToken.None)), u => u.Email == email);
        Assert.Equal(IrisRoles.Instructor, user.Role);
        Assert.True(user.MustChangePassword);
        using var newcomer = new AccountTestClient(App.BaseAddress);
        await newcomer.SignInOrFailAsync(email, password);
    }

    [Fact]
    public async Task An_admin_changes_a_role_disables_enables_and_resets_a_password()
    {
        using var admin = await SignedInAdminAsync();
        var email = TestAccounts.NewEmail("managed");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Student);

        await ActAsync(admin, $"role:Instructor:{user.Id}", $"{email} is now Instructor.");
        Assert.Equal(IrisRoles.Instructor, (await SummaryAsync(user.Id)).Role);

        await ActAsync(admin, $"disable::{user.Id}", $"{email} is disabled");
        Assert.True((await SummaryAsync(user.Id)).IsDisabled);
        using (var refused = new AccountTestClient(App.BaseAddress))
        using (var attempt = await refused.SignInAsync(email, TestAccounts.Password))
        {
            Assert.Null(refused.SessionCookie);
        }

        await ActAsync(admin, $"enable::{user.Id}", $"{email} is enabled.");
        using (var allowed = new AccountTestClient(App.BaseAddress))
        {
            await allowed.SignInOrFailAsync(email, TestAccounts.Password);
        }

        var html = await ActAsync(admin, $"reset::{user.Id}", $"The password of {email} was reset");
        var password = OneTimePasswordPattern().Match(html).Groups[1].Value;
        Assert.NotEmpty(password);
        Assert.True((await SummaryAsync(user.Id)).MustChangePassword);
        using var withNew = new AccountTestClient(App.BaseAddress);
        await withNew.SignInOrFailAsync(email, password);
    }

    [Fact]
    public async Task The_page_refuses_bad_input_with_a_message()
    {
        using var admin = await SignedInAdminAsync();
        var existing = await TestAccounts.AddAsync(App, TestAccounts.NewEmail("exists"), IrisRoles.Student);

        using (var duplicate = await admin.PostFormAsync(UsersPath, "add-user", [new("NewUser.Email", existing.Email!), new("NewUser.Role", IrisRoles.Student)]))
        {
            Assert.Contains("is already taken", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(duplicate)), StringComparison.Ordinal);
        }

        using (var unknownRole = await admin.PostFormAsync(UsersPath, "add-user", [new("NewUser.Email", TestAccounts.NewEmail("x")), new("NewUser.Role", "Superuser")]))
        {
            Assert.Contains("unknown role", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(unknownRole)), StringComparison.Ordinal);
        }

        using var forged = await admin.PostFormAsync(UsersPath, "add-user", [new("NewUser.Email", TestAccounts.NewEmail("csrf")), new("NewUser.Role", IrisRoles.Admin)], withAntiforgery: false);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
    }

    [Fact]
    public async Task The_last_enabled_admin_cannot_be_demoted_or_disabled()
    {
        // An app of its own: the fixture's app has several admins.
        await using var app = await IrisWebApp.StartAsync();
        var only = await TestAccounts.AddAsync(app, TestAccounts.NewEmail("only-admin"), IrisRoles.Admin);

        var demote = await TestAccounts.WithAdministrationAsync(app, a => a.SetRoleAsync(only.Id, IrisRoles.Student, CancellationToken.None));
        var disable = await TestAccounts.WithAdministrationAsync(app, a => a.SetDisabledAsync(only.Id, true, CancellationToken.None));

        Assert.Contains("last enabled admin", demote.Error, StringComparison.Ordinal);
        Assert.Contains("last enabled admin", disable.Error, StringComparison.Ordinal);
        var second = await TestAccounts.AddAsync(app, TestAccounts.NewEmail("second-admin"), IrisRoles.Admin);
        var demoteNow = await TestAccounts.WithAdministrationAsync(app, a => a.SetRoleAsync(only.Id, IrisRoles.Student, CancellationToken.None));
        Assert.True(demoteNow.Succeeded, demoteNow.Error);
        Assert.NotNull(second);
    }

    private async Task<AccountTestClient> SignedInAdminAsync()
    {
        var email = TestAccounts.NewEmail("admin");
        await TestAccounts.AddAsync(App, email, IrisRoles.Admin);
        var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        return client;
    }

    private static async Task<string> ActAsync(AccountTestClient admin, string command, string expectedNotice)
    {
        using var response = await admin.PostFormAsync(UsersPath, "user-action", [new("Act.Command", command)]);
        var html = await AccountTestClient.BodyAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{command}: {response.StatusCode}");
        Assert.Equal("", SignInTests.ErrorOf(html));
        Assert.Contains(expectedNotice, WebUtility.HtmlDecode(html), StringComparison.Ordinal);
        return html;
    }

    private Task<UserSummary> SummaryAsync(string id) =>
        TestAccounts.WithAdministrationAsync(App, async a => Assert.Single(await a.ListAsync(CancellationToken.None), u => u.Id == id));

    [GeneratedRegex("data-testid=\"one-time-password\">([^<]+)<")]
    private static partial Regex OneTimePasswordPattern();
}
