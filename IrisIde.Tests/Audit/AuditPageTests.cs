using System.Net;
using System.Text.RegularExpressions;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;

namespace IrisIde.Tests.Audit;

/// <summary><c>/admin/audit</c> over HTTP: admins only; filtered and paged on the server, newest first.</summary>
public sealed partial class AuditPageTests(AuditAppFixture fixture) : IClassFixture<AuditAppFixture>
{
    private const string AuditPath = "/admin/audit";

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task An_anonymous_visitor_is_sent_to_sign_in()
    {
        using var client = new AccountTestClient(App.BaseAddress);

        using var response = await client.Http.GetAsync(AuditPath).WaitAsync(AccountTestClient.Timeout);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"{AccountsExtensions.SignInPath}?returnUrl=%2Fadmin%2Faudit", client.Target(response));
    }

    [Theory]
    [InlineData(IrisRoles.Student)]
    [InlineData(IrisRoles.Instructor)]
    public async Task A_signed_in_non_admin_is_denied(string role)
    {
        var email = TestAccounts.NewEmail(role.ToLowerInvariant());
        await TestAccounts.AddAsync(App, email, role);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);

        using var response = await client.Http.GetAsync(AuditPath).WaitAsync(AccountTestClient.Timeout);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(AccountsExtensions.DeniedPath, client.Target(response), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_sees_their_own_sign_in_on_the_page()
    {
        var email = TestAccounts.NewEmail("viewer");
        await TestAccounts.AddAsync(App, email, IrisRoles.Admin);
        using var admin = new AccountTestClient(App.BaseAddress);
        await admin.SignInOrFailAsync(email, TestAccounts.Password);
        await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SignInSucceeded && e.Actor == email);

        var (status, html) = await admin.GetAsync($"{AuditPath}?actor={Uri.EscapeDataString(email)}");

        Assert.Equal(HttpStatusCode.OK, status);
        var row = Assert.Single(Rows(html));
        Assert.Equal((email, AuditActions.SignInSucceeded, email, "127.0.0.1", "success", "password"), row);
    }

    [Fact]
    public async Task Pages_hold_fifty_entries_newest_first_and_filters_narrow_them_on_the_server()
    {
        var actor = TestAccounts.NewEmail("paged");
        var start = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        // 120 entries a day apart (two actions taking turns), oldest first; a second actor's as noise.
        await AuditTestSupport.AddAsync(App.Services, Enumerable.Range(0, 120).Select(i => new AuditEntry
        {
            AtUtc = start.AddDays(i),
            Actor = actor,
            Action = i % 2 == 0 ? AuditActions.TokenCreated : AuditActions.TokenRevoked,
            Target = $"entry {i}",
            Outcome = AuditOutcome.Success,
        }).Append(new AuditEntry { AtUtc = start, Actor = "someone-else@example.edu", Action = AuditActions.TokenCreated, Target = "noise" }));
        using var admin = await SignedInAdminAsync();
        var filter = $"{AuditPath}?actor={Uri.EscapeDataString(actor)}";

        var first = await PageAsync(admin, filter);
        var third = await PageAsync(admin, $"{filter}&page=3");
        var created = await PageAsync(admin, $"{filter}&action={AuditActions.TokenCreated}&page=2");
        var march = await PageAsync(admin, $"{filter}&from=2026-03-05&to=2026-03-07");

        Assert.Equal(Enumerable.Range(70, 50).Reverse().Select(i => $"entry {i}"), first.Targets);
        Assert.Contains("data-testid=\"older\"", first.Html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"newer\"", first.Html, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 20).Reverse().Select(i => $"entry {i}"), third.Targets);
        Assert.DoesNotContain("data-testid=\"older\"", third.Html, StringComparison.Ordinal);
        Assert.Matches("data-testid=\"newer\"[^>]*|href=\"[^\"]*page=2\"", third.Html);
        Assert.Contains("page=2\" data-testid=\"newer\"", third.Html, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 10).Reverse().Select(i => $"entry {i * 2}"), created.Targets);
        Assert.Equal(["entry 6", "entry 5", "entry 4"], march.Targets);
    }

    [Fact]
    public async Task A_bad_filter_is_reported_not_fatal()
    {
        using var admin = await SignedInAdminAsync();

        var (status, html) = await admin.GetAsync($"{AuditPath}?action=drop.tables&from=yesterday");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Unknown action", SignInTests.ErrorOf(html), StringComparison.Ordinal);
        var (farStatus, far) = await admin.GetAsync($"{AuditPath}?page={int.MaxValue}");
        Assert.Equal(HttpStatusCode.OK, farStatus);
        Assert.Contains("data-testid=\"no-entries\"", far, StringComparison.Ordinal);
    }

    private async Task<AccountTestClient> SignedInAdminAsync()
    {
        var email = TestAccounts.NewEmail("audit-admin");
        await TestAccounts.AddAsync(App, email, IrisRoles.Admin);
        var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        return client;
    }

    private static async Task<(List<string> Targets, string Html)> PageAsync(AccountTestClient client, string path)
    {
        var (status, html) = await client.GetAsync(path);
        Assert.True(status == HttpStatusCode.OK, $"GET {path}: {status}");
        return (Rows(html).Select(r => r.Target).ToList(), html);
    }

    private static List<(string Actor, string Action, string Target, string Client, string Outcome, string Detail)> Rows(string html) =>
        RowPattern().Matches(html).Select(m => (
            WebUtility.HtmlDecode(m.Groups["actor"].Value),
            m.Groups["action"].Value,
            WebUtility.HtmlDecode(m.Groups["target"].Value),
            m.Groups["client"].Value,
            m.Groups["outcome"].Value,
            WebUtility.HtmlDecode(m.Groups["detail"].Value))).ToList();

    [GeneratedRegex("data-testid=\"actor\"[^>]*>(?<actor>[^<]*)</td>\\s*<td data-testid=\"action\">(?<action>[^<]*)</td>\\s*<td data-testid=\"target\">(?<target>[^<]*)</td>\\s*<td data-testid=\"client\">(?<client>[^<]*)</td>\\s*<td data-testid=\"outcome\">(?<outcome>[^<]*)</td>\\s*<td data-testid=\"detail\">(?<detail>[^<]*)</td>")]
    private static partial Regex RowPattern();
}
