using System.Net;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
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
}
