using System.Net;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace IrisIde.Tests.Audit;

/// <summary>
/// How the audit log protects itself and the app: floods of refused attempts stay a bounded number of rows,
/// a full queue drops (counted) instead of waiting, a failing database does not break sign-in, and old
/// entries are purged.
/// </summary>
public sealed class AuditRecordingTests
{
    [Fact]
    public async Task A_flood_of_bad_tokens_adds_one_entry_per_address_and_one_count_per_minute()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await IrisWebApp.StartAsync(AuditTestSupport.Settings(), services => services.AddSingleton<TimeProvider>(clock));
        using var http = app.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", $"iris_pat_{Guid.NewGuid():N}_{new string('A', 43)}");

        for (var minute = 0; minute < 3; minute++)
        {
            for (var i = 0; i < 150; i++)
            {
                using var response = await http.GetAsync(new Uri("/results/x", UriKind.Relative)).WaitAsync(AuditTestSupport.Timeout);
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }

            clock.Advance(TimeSpan.FromSeconds(61));
        }

        await AuditTestSupport.DrainAsync(app.Services);

        var refused = (await AuditTestSupport.AllAsync(app.Services)).Where(e => e.Action == AuditActions.TokenRefused).ToList();
        // Per minute: the first attempt as it was, then one entry counting the other 149.
        Assert.Equal(6, refused.Count);
        Assert.Equal(3, refused.Count(e => e.Outcome == AuditOutcome.Failure && e.Detail == "unknown on /results/x"));
        var counts = refused.Where(e => e.Outcome == AuditOutcome.Aggregated).ToList();
        Assert.Equal(3, counts.Count);
        Assert.All(counts, e => Assert.StartsWith("149 more refused between", e.Detail, StringComparison.Ordinal));
        Assert.All(counts, e => Assert.Equal("127.0.0.1", e.ClientIp));
        Assert.All(refused, e => Assert.DoesNotContain(new string('A', 43), AuditTestSupport.Describe(e), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_flood_from_thousands_of_addresses_keeps_at_most_the_configured_entries_per_minute()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await IrisWebApp.StartAsync(
            AuditTestSupport.Settings(("Iris:Audit:RefusalEntriesPerMinute", "10")),
            services => services.AddSingleton<TimeProvider>(clock));
        var recorder = app.Services.GetRequiredService<AuditRecorder>();
        var requests = app.Services.GetRequiredService<IHttpContextAccessor>();

        for (var minute = 0; minute < 2; minute++)
        {
            for (var i = 0; i < 3000; i++)
            {
                // One request from each address, as a botnet would send them.
                requests.HttpContext = new DefaultHttpContext { Connection = { RemoteIpAddress = new IPAddress([10, (byte)minute, (byte)(i / 256), (byte)(i % 256)]) } };
                recorder.RecordRefusal(AuditActions.TokenRefused, null, "malformed on /api/v1/runs");
            }

            requests.HttpContext = null;
            clock.Advance(TimeSpan.FromSeconds(61));
        }

        await AuditTestSupport.DrainAsync(app.Services);

        var refused = (await AuditTestSupport.AllAsync(app.Services)).Where(e => e.Action == AuditActions.TokenRefused).ToList();
        Assert.Equal(2 * (10 + 1), refused.Count);
        var counts = refused.Where(e => e.Outcome == AuditOutcome.Aggregated).Select(e => e.Detail!).ToList();
        Assert.Equal(2, counts.Count);
        Assert.All(counts, d => Assert.Matches(@"^2990 more refused between .* UTC from more than 1000 addresses: ", d));
        Assert.True(counts.All(d => d.Length <= AuditEntry.MaxDetailLength));
    }

    [Fact]
    public void A_full_queue_drops_new_entries_counts_them_and_warns_once()
    {
        using var logs = new CapturedLogs();
        using var loggers = CapturingFactory(logs);
        var recorder = new AuditRecorder(Options.Create(new AuditOptions { QueueCapacity = 2 }), new HttpContextAccessor(), TimeProvider.System, loggers.CreateLogger<AuditRecorder>());

        for (var i = 0; i < 5; i++)
        {
            recorder.Record(AuditActions.SignInFailed, AuditActor.Anonymous, null, AuditOutcome.Failure);
        }

        Assert.Equal(3, recorder.Dropped);
        Assert.Single(logs.Entries, e => e.Contains("[6700]", StringComparison.Ordinal));
    }

    [Fact]
    public void Text_is_bounded_printable_and_never_holds_a_token()
    {
        var token = $"iris_pat_{Guid.NewGuid():N}_{new string('z', 43)}";

        var cleaned = AuditRecorder.Clean($"line one\nline two {token} " + new string('x', 1000), AuditEntry.MaxDetailLength)!;

        Assert.Equal(AuditEntry.MaxDetailLength, cleaned.Length);
        Assert.StartsWith("line one line two iris_pat_[redacted] xxx", cleaned, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('z', 43), cleaned, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sign_in_works_while_the_audit_table_cannot_be_written_and_the_lost_entries_are_counted()
    {
        await using var app = await IrisWebApp.StartAsync(AuditTestSupport.Settings());
        var email = TestAccounts.NewEmail("outage");
        await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        await using (var scope = app.Services.CreateAsyncScope())
        {
            // The database refuses every audit write from now on (a stand-in for a broken or full database).
            await scope.ServiceProvider.GetRequiredService<IrisDbContext>().Database.ExecuteSqlRawAsync("DROP TABLE audit_log").WaitAsync(AuditTestSupport.Timeout);
        }

        var recorder = app.Services.GetRequiredService<AuditRecorder>();
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AccountsExtensions.ChangePasswordPath)).Status);

        var deadline = DateTime.UtcNow + AuditTestSupport.Timeout;
        while (recorder.Dropped == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(recorder.Dropped >= 1, "the failed write was not counted");
    }

    [Fact]
    public async Task The_first_admin_made_through_the_set_up_link_and_throttled_sign_ins_are_audited()
    {
        // A clock that stands still: both throttled attempts fall into one counting minute however slow the machine.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await IrisWebApp.StartAsync(
            AuditTestSupport.Settings(("Iris:Auth:MaxFailedSignInsPerAddress", "2")),
            services => services.AddSingleton<TimeProvider>(clock));
        var token = app.Services.GetRequiredService<AdminSetup>().Token!;
        using var admin = new AccountTestClient(app.BaseAddress);
        using (var created = await admin.PostFormAsync($"/setup/{token}", "setup",
            [new("Input.Email", "first-admin@example.edu"), new("Input.Password", TestAccounts.Password), new("Input.ConfirmPassword", TestAccounts.Password)]))
        {
            Assert.Equal(HttpStatusCode.Found, created.StatusCode);
        }

        using var guesser = new AccountTestClient(app.BaseAddress);
        for (var attempt = 0; attempt < 4; attempt++)
        {
            using var refused = await guesser.SignInAsync("first-admin@example.edu", $"guess number {attempt}");
        }

        var setUp = Assert.Single(await AuditTestSupport.WaitForAsync(app, e => e.Action == AuditActions.AdminSetUp));
        Assert.Equal(("anonymous", "first-admin@example.edu", AuditOutcome.Success, "127.0.0.1"), (setUp.Actor, setUp.Target, setUp.Outcome, setUp.ClientIp));
        await AuditTestSupport.DrainAsync(app.Services);
        var throttled = (await AuditTestSupport.AllAsync(app.Services)).Where(e => e.Action == AuditActions.SignInThrottled).ToList();
        // Two throttled attempts from one address in one minute: the first kept, the second counted.
        Assert.Equal([AuditOutcome.Failure, AuditOutcome.Aggregated], throttled.Select(e => e.Outcome));
        Assert.StartsWith("1 more refused", throttled[1].Detail, StringComparison.Ordinal);
        Assert.DoesNotContain((await AuditTestSupport.AllAsync(app.Services)), e => AuditTestSupport.Describe(e).Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_retention_purge_deletes_entries_older_than_the_setting_and_keeps_the_rest()
    {
        await using var app = await IrisWebApp.StartAsync(AuditTestSupport.Settings(("Iris:Audit:RetentionDays", "30")));
        var now = DateTime.UtcNow;
        await AuditTestSupport.AddAsync(app.Services, Enumerable.Range(0, 1500).Select(i => new AuditEntry
        {
            AtUtc = now.AddDays(-31).AddMinutes(-i),
            Actor = "system",
            Action = AuditActions.TokenRefused,
            Target = "old",
        }).Concat(Enumerable.Range(0, 5).Select(i => new AuditEntry
        {
            AtUtc = now.AddDays(-29).AddMinutes(-i),
            Actor = "system",
            Action = AuditActions.TokenRefused,
            Target = "recent",
        })));

        var purged = await app.Services.GetRequiredService<AuditRetentionPurge>().PurgeAsync(CancellationToken.None).WaitAsync(AuditTestSupport.Timeout);

        Assert.Equal(1500, purged);
        var left = await AuditTestSupport.AllAsync(app.Services);
        Assert.Equal(5, left.Count(e => e.Target == "recent"));
        Assert.DoesNotContain(left, e => e.Target == "old");
    }

    private static ILoggerFactory CapturingFactory(CapturedLogs logs)
    {
        var factory = new LoggerFactory();
        factory.AddProvider(logs);
        return factory;
    }
}
