using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.History;

/// <summary>
/// The app of the run history tests: sign-in or token required, every request re-checks the sign-in, a small
/// transcript cap (so a test crosses it with a few kilobytes), sandbox uids 64700-64715 (PostgreSQL 64716-64731).
/// </summary>
public class HistoryAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 64700;

    public const int TranscriptCap = 4096;

    public static readonly IReadOnlyDictionary<string, string?> HistorySettings = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:History:MaxTranscriptBytes"] = TranscriptCap.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => HistorySettings;
}

/// <summary>The same app on a fresh PostgreSQL database of its own.</summary>
public sealed class PostgresHistoryAppFixture : IAsyncLifetime
{
    private TestPostgresDatabase? _database;
    private IrisWebApp? _app;

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    /// <summary>The app's database, for a test that holds a lock on it.</summary>
    public string ConnectionString => _database?.ConnectionString ?? throw new InvalidOperationException("The database has not been made.");

    public async Task InitializeAsync()
    {
        _database = await TestPostgresDatabase.CreateAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var settings = new Dictionary<string, string?>(HistoryAppFixture.HistorySettings)
        {
            ["ConnectionStrings:Postgres"] = _database.ConnectionString,
            ["Iris:Sandbox:Uid"] = (HistoryAppFixture.SandboxUid + 16).ToString(CultureInfo.InvariantCulture),
        };
        _app = await IrisWebApp.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>A user of the history tests: the account, a token with every scope, and a signed-in browser.</summary>
internal sealed class HistoryUser(IrisUser user, string email, string token, AccountTestClient browser) : IDisposable
{
    public IrisUser User => user;

    public string Id => user.Id;

    public string Email => email;

    public string Token => token;

    /// <summary>The cookie sign-in (course staff see their courses' runs by cookie, not by token).</summary>
    public AccountTestClient Browser => browser;

    public static async Task<HistoryUser> CreateAsync(IrisWebApp app, string role, string who)
    {
        var email = TestAccounts.NewEmail(who);
        var user = await TestAccounts.AddAsync(app, email, role);
        await using var scope = app.Services.CreateAsyncScope();
        var created = await scope.ServiceProvider.GetRequiredService<AccessTokenService>().CreateAsync(user, "history", null, null, user.Id, CancellationToken.None).WaitAsync(AccountTestClient.Timeout);
        Assert.True(created.Succeeded, created.Error);
        var browser = new AccountTestClient(app.BaseAddress);
        await browser.SignInOrFailAsync(email, TestAccounts.Password);
        return new HistoryUser(user, email, created.Created!.Token, browser);
    }

    public IrisIde.Web.Courses.CourseActor Actor => new(user.Id, false, false, email);

    /// <summary>GET with the token (or the cookie when <paramref name="byCookie"/>): the status and the JSON body, if any.</summary>
    public async Task<(int Status, JsonElement Body)> GetAsync(string path, bool byCookie = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        if (!byCookie)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await browser.Http.SendAsync(request).WaitAsync(AccountTestClient.Timeout);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(AccountTestClient.Timeout);
        return ((int)response.StatusCode, text.Length > 0 && response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.Ordinal) == true
            ? JsonSerializer.Deserialize<JsonElement>(text)
            : default);
    }

    public async Task<(int Status, JsonElement Body)> PostJsonAsync(string path, object body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await browser.Http.SendAsync(request).WaitAsync(AccountTestClient.Timeout);
        return ((int)response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(AccountTestClient.Timeout));
    }

    public void Dispose() => browser.Dispose();
}

/// <summary>Reading what the history stored, straight from the database.</summary>
internal static class HistoryStore
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>Waits until the run is stored with its end (the writer is asynchronous).</summary>
    public static async Task<RunRecord> EndedAsync(IrisWebApp app, Func<RunRecord, bool> which)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
                var found = (await db.Runs.AsNoTracking().ToListAsync()).FirstOrDefault(r => which(r) && r.FinishedAtUtc is not null);
                if (found is not null)
                {
                    return found;
                }
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the run was not stored with its end in time");
            }

            await Task.Delay(100);
        }
    }

    public static async Task WithDbAsync(IrisWebApp app, Func<IrisDbContext, Task> action)
    {
        await using var scope = app.Services.CreateAsyncScope();
        await action(scope.ServiceProvider.GetRequiredService<IrisDbContext>()).WaitAsync(Timeout);
    }
}
