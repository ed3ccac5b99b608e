using System.Net;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts;

/// <summary>The account flows on the real PostgreSQL server: the same stores, migrations and rules as on SQLite.</summary>
[Trait("Needs", "Postgres")]
public sealed class PostgresAccountsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Set_up_sign_in_lockout_and_disable_work_on_postgres()
    {
        await using var database = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["Iris:Auth:SessionRecheckSeconds"] = "0",
        });
        var token = app.Services.GetRequiredService<AdminSetup>().Token!;

        using var admin = new AccountTestClient(app.BaseAddress);
        using (var created = await admin.PostFormAsync($"/setup/{token}", "setup",
            [new("Input.Email", "pg-root@example.edu"), new("Input.Password", TestAccounts.Password), new("Input.ConfirmPassword", TestAccounts.Password)]))
        {
            Assert.Equal(HttpStatusCode.Found, created.StatusCode);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/setup/{token}")).Status);
        var student = await TestAccounts.AddAsync(app, "pg-student@example.edu", IrisRoles.Student);
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync("pg-student@example.edu", TestAccounts.Password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AccountsExtensions.ChangePasswordPath)).Status);
        using (var denied = await client.Http.GetAsync("/admin/users").WaitAsync(Timeout))
        {
            Assert.StartsWith(AccountsExtensions.DeniedPath, client.Target(denied), StringComparison.Ordinal);
        }

        await TestAccounts.WithAdministrationAsync(app, a => a.SetDisabledAsync(student.Id, true, CancellationToken.None));
        using (var signedOut = await client.Http.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(Timeout))
        {
            Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(signedOut), StringComparison.Ordinal);
        }

        var lockedEmail = "pg-locked@example.edu";
        await TestAccounts.AddAsync(app, lockedEmail, IrisRoles.Instructor);
        using var guesser = new AccountTestClient(app.BaseAddress);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var wrong = await guesser.SignInAsync(lockedEmail, $"wrong guess {attempt}");
        }

        using (var right = await guesser.SignInAsync(lockedEmail, TestAccounts.Password))
        {
            Assert.Null(guesser.SessionCookie);
        }

        var users = await TestAccounts.WithAdministrationAsync(app, a => a.ListAsync(CancellationToken.None));
        Assert.Equal(
            ["pg-locked@example.edu Instructor locked", "pg-root@example.edu Admin active", "pg-student@example.edu Student disabled"],
            users.Select(u => $"{u.Email} {u.Role} {(u.IsDisabled ? "disabled" : u.IsLockedOut ? "locked" : "active")}"));
    }

    [Fact]
    public async Task Two_web_replicas_on_one_database_accept_each_others_cookies_and_forms()
    {
        await using var database = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = database.ConnectionString };
        await using var first = await IrisWebApp.StartAsync(settings);
        await using var second = await IrisWebApp.StartAsync(settings);
        await TestAccounts.AddAsync(first, "replicas@example.edu", IrisRoles.Student);

        // Signed in (and the anti-forgery token taken) on the first, then the second serves the same browser.
        using var onFirst = new AccountTestClient(first.BaseAddress);
        await onFirst.SignInOrFailAsync("replicas@example.edu", TestAccounts.Password);
        var token = await onFirst.AntiforgeryTokenAsync(AccountsExtensions.ChangePasswordPath);
        using var onSecond = new AccountTestClient(second.BaseAddress);
        foreach (Cookie cookie in onFirst.Cookies.GetAllCookies())
        {
            onSecond.Cookies.Add(second.BaseAddress, new Cookie(cookie.Name, cookie.Value));
        }

        var (status, html) = await onSecond.GetAsync(AccountsExtensions.ChangePasswordPath);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("replicas@example.edu", html, StringComparison.Ordinal);
        using var content = new FormUrlEncodedContent(
        [
            new("_handler", "change-password"),
            new("__RequestVerificationToken", token),
            new("Input.CurrentPassword", TestAccounts.Password),
            new("Input.NewPassword", "changed on the second replica"),
            new("Input.ConfirmPassword", "changed on the second replica"),
        ]);
        using var change = await onSecond.Http.PostAsync(AccountsExtensions.ChangePasswordPath, content).WaitAsync(Timeout);
        Assert.Contains("data-testid=\"password-changed\"", await AccountTestClient.BodyAsync(change), StringComparison.Ordinal);
        // Both read one key ring, the database's (the default, a folder in the home directory, would be
        // shared here too, by two apps in one process, but not by two pods).
        await using var scope = second.Services.CreateAsyncScope();
        Assert.NotEmpty(await scope.ServiceProvider.GetRequiredService<IrisIde.Web.Persistence.IrisDbContext>().DataProtectionKeys.ToListAsync().WaitAsync(Timeout));
    }
}
