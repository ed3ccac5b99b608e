using System.Net;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Audit;

/// <summary>The audit log on the real PostgreSQL server: written, read by the admin page with filters, purged.</summary>
[Trait("Needs", "Postgres")]
public sealed class PostgresAuditTests
{
    [Fact]
    public async Task Sign_ins_are_audited_shown_filtered_and_purged_on_postgres()
    {
        await using var database = await TestPostgresDatabase.CreateAsync().WaitAsync(AuditTestSupport.Timeout);
        await using var app = await IrisWebApp.StartAsync(AuditTestSupport.Settings(
            ("ConnectionStrings:Postgres", database.ConnectionString),
            ("Iris:Audit:RetentionDays", "30")));
        var email = TestAccounts.NewEmail("pg-audit");
        var admin = await TestAccounts.AddAsync(app, email, IrisRoles.Admin);
        using (var guesser = new AccountTestClient(app.BaseAddress))
        using (var wrong = await guesser.SignInAsync(email, "a wrong password here"))
        {
            Assert.Null(guesser.SessionCookie);
        }

        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        await AuditTestSupport.WaitForAsync(app, e => e.Target == email, count: 2);
        await AuditTestSupport.AddAsync(app.Services, [new AuditEntry { AtUtc = DateTime.UtcNow.AddDays(-40), Actor = email, Action = AuditActions.SignInSucceeded, Target = "long ago" }]);

        var (status, html) = await client.GetAsync($"/admin/audit?actor={Uri.EscapeDataString(admin.Id)}&action={AuditActions.SignInSucceeded}&from={DateTime.UtcNow.AddDays(-1):yyyy-MM-dd}");
        var purged = await app.Services.GetRequiredService<AuditRetentionPurge>().PurgeAsync(CancellationToken.None).WaitAsync(AuditTestSupport.Timeout);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(html, "data-testid=\"audit-row\""));
        Assert.Contains(">password</td>", html, StringComparison.Ordinal);
        Assert.Equal(1, purged);
        var left = await AuditTestSupport.AllAsync(app.Services);
        Assert.Equal(["signin.failed password: wrong password", "signin.succeeded password"], left.Where(e => e.Target == email).Select(e => $"{e.Action} {e.Detail}"));
    }
}
