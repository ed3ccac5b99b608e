using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using IrisIde.Tests.Hubs;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// The app as shipped (anonymous runs off), with sandbox uids of its own, sign-ins re-checked on every
/// request, and every log entry captured at Debug level, the hosting layer's request lines included.
/// </summary>
public sealed class AccessTokenAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 63760;

    public CapturedLogs Logs { get; } = new();

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
        ["Logging:LogLevel:Default"] = "Debug",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Debug",
    };

    protected override void ConfigureServices(IServiceCollection services) => Logs.AddTo(services);
}

/// <summary>
/// Personal access tokens on every surface: <c>Authorization: Bearer</c> and <c>?access_token=</c> run real code
/// on <c>/ws</c> and <c>/run</c>, the hub and the batch API take them, bad tokens get 401 before any upgrade, a
/// missing scope 403, batch runs are their owner's only, and the secret never reaches a log.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class AccessTokenTests(AccessTokenAppFixture fixture) : IClassFixture<AccessTokenAppFixture>
{
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task A_bearer_header_or_an_access_token_query_parameter_runs_code_on_ws_and_run()
    {
        var (_, token) = await UserWithTokenAsync("runner");

        await using (var bearer = await RunnerTestClient.ConnectAsync(App.WebSocketUri, Bearer(token)))
        {
            await bearer.SendCodeAsync("python", "print('hello, bearer')\n");
            await bearer.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("hello, bearer\n", bearer.Text("stdout"));
            Assert.Equal(0, bearer.One("exit").GetProperty("return_code").GetInt32());
        }

        await using var query = await RunnerTestClient.ConnectAsync(WebSocket("/run", token));
        await query.SendCodeAsync("python", "print(input()[::-1])\n");
        await query.SendInputAsync("nekot\r");
        await query.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("token\n", query.Text("stdout"));
    }

    [Fact]
    public async Task Wrong_expired_revoked_and_disabled_or_locked_users_tokens_get_401_before_the_upgrade()
    {
        var (_, good) = await UserWithTokenAsync("good");
        var (_, expired) = await UserWithTokenAsync("expired");
        await WithDbAsync(db => db.AccessTokens.Where(t => t.Id == AccessTokenService.IdOf(expired))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAtUtc, DateTime.UtcNow.AddSeconds(-1))));
        var (_, revoked) = await UserWithTokenAsync("revoked");
        await WithTokensAsync(t => t.RevokeAsync(AccessTokenService.IdOf(revoked)!.Value, null, "test", CancellationToken.None));
        var (disabledUser, disabled) = await UserWithTokenAsync("disabled");
        await TestAccounts.WithAdministrationAsync(App, a => a.SetDisabledAsync(disabledUser.Id, true, CancellationToken.None));
        var (lockedUser, locked) = await UserWithTokenAsync("locked");
        await WithUsersAsync(async users => await users.SetLockoutEndDateAsync((await users.FindByIdAsync(lockedUser.Id))!, DateTimeOffset.UtcNow.AddHours(1)));
        // The right id with another secret, and a token that is no token at all.
        var forged = string.Concat(good.AsSpan(0, good.Length - 4), good.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        foreach (var (what, bad) in new[] { ("forged", forged), ("garbage", "iris_pat_nonsense"), ("expired", expired), ("revoked", revoked), ("disabled", disabled), ("locked", locked) })
        {
            Assert.True(await UpgradeStatusAsync(App.WebSocketUri, Bearer(bad)) == HttpStatusCode.Unauthorized, $"{what} as Bearer on /ws");
            Assert.True(await UpgradeStatusAsync(WebSocket("/ws", bad)) == HttpStatusCode.Unauthorized, $"{what} in the query of /ws");
            using var http = BearerClient(bad);
            using var response = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = "print(1)" }).WaitAsync(Timeout);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what} on POST /run-code: {response.StatusCode}");
            Assert.StartsWith("Bearer", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        // The good one still works: nothing above was refused for a reason shared with it.
        await using var run = await RunnerTestClient.ConnectAsync(App.WebSocketUri, Bearer(good));
        await run.SendCodeAsync("python", "print(2)\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("2\n", run.Text("stdout"));
    }

    [Fact]
    public async Task A_token_without_the_needed_scope_gets_403()
    {
        var (_, readOnly) = await UserWithTokenAsync("reader", [AccessTokenScopes.RunsRead]);
        var (_, runOnly) = await UserWithTokenAsync("submitter", [AccessTokenScopes.Runs]);

        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeStatusAsync(App.WebSocketUri, Bearer(readOnly)));
        Assert.Equal(HttpStatusCode.Forbidden, await UpgradeStatusAsync(WebSocket("/run", readOnly)));
        using var reader = BearerClient(readOnly);
        using (var post = await reader.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = "print(1)" }).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        }

        using (var negotiate = await reader.PostAsync(new Uri("/hubs/execution/negotiate?negotiateVersion=1", UriKind.Relative), null).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.Forbidden, negotiate.StatusCode);
        }

        using var submitter = BearerClient(runOnly);
        var taskId = await SubmitAsync(submitter);
        using var read = await submitter.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
    }

    [Fact]
    public async Task Batch_runs_submitted_with_a_token_are_their_users_and_hidden_from_everyone_else()
    {
        var (ann, annToken) = await UserWithTokenAsync("ann");
        var (_, bobToken) = await UserWithTokenAsync("bob");
        var (_, adminToken) = await UserWithTokenAsync("admin", role: IrisRoles.Admin);
        using var annHttp = BearerClient(annToken);
        using var bobHttp = BearerClient(bobToken);
        using var adminHttp = BearerClient(adminToken);
        using var anonymous = App.CreateHttpClient();

        var taskId = await SubmitAsync(annHttp, "print('for ann only')");

        var result = await BatchWaitAsync(annHttp, taskId);
        Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        Assert.Equal("for ann only\n", result.GetProperty("result").GetProperty("output").GetString());
        var owner = await WithDbAsync(db => db.Runs.AsNoTracking().Where(r => r.Id == Guid.Parse(taskId)).Select(r => r.Owner).SingleAsync());
        Assert.Equal(ann.Id, owner);

        foreach (var path in new[] { $"/results/{taskId}", $"/api/v1/runs/{taskId}" })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await bobHttp.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await annHttp.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await adminHttp.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
        }

        // Someone else's run looks exactly like one that does not exist.
        using var missing = await bobHttp.GetAsync(new Uri($"/results/{Guid.CreateVersion7()}", UriKind.Relative)).WaitAsync(Timeout);
        using var theirs = await bobHttp.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal(await missing.Content.ReadAsStringAsync(), await theirs.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_hub_runs_code_for_a_bearer_token()
    {
        var (_, token) = await UserWithTokenAsync("hub");
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(App.BaseAddress, "/hubs/execution"), options => options.AccessTokenProvider = () => Task.FromResult<string?>(token))
            .Build();
        await hub.StartAsync().WaitAsync(Timeout);

        var run = HubRun.Start(hub, "python", "print('hub with a token')\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("exit", run.Received[^1].GetProperty("type").GetString());
        Assert.Equal("hub with a token\n", string.Concat(run.Received.Where(e => e.GetProperty("type").GetString() == "stdout").Select(e => e.GetProperty("data").GetString())));
    }

    [Fact]
    public async Task The_query_parameter_is_taken_only_on_websocket_paths()
    {
        var (_, token) = await UserWithTokenAsync("query");
        using var http = App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri($"/results/{Guid.CreateVersion7()}?access_token={token}", UriKind.Relative)).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Authorization: Bearer", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_opens_no_page_so_it_cannot_mint_another_token()
    {
        var (_, token) = await UserWithTokenAsync("pages");
        using var http = BearerClient(token);

        foreach (var path in new[] { "/account/tokens", "/account/password", "/" })
        {
            using var response = await http.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(Timeout);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"GET {path} with a token: {response.StatusCode}");
        }

        using var languages = await http.GetAsync(new Uri("/api/v1/languages", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, languages.StatusCode);
    }

    [Fact]
    public async Task Tokens_appear_in_no_log_entry_however_they_are_sent()
    {
        var (_, token) = await UserWithTokenAsync("logged");
        var secret = token[(AccessTokenService.Prefix.Length + 33)..];
        var (_, revoked) = await UserWithTokenAsync("logged-revoked");
        await WithTokensAsync(t => t.RevokeAsync(AccessTokenService.IdOf(revoked)!.Value, null, "test", CancellationToken.None));

        await using (var query = await RunnerTestClient.ConnectAsync(new Uri(WebSocket("/ws", token) + "&keep=1")))
        {
            await query.SendCodeAsync("python", "print(3)\n");
            await query.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("3\n", query.Text("stdout"));
        }

        await using (var bearer = await RunnerTestClient.ConnectAsync(App.WebSocketUri, Bearer(token)))
        {
            await bearer.SendCodeAsync("python", "print(4)\n");
            await bearer.ReadToEndAsync().WaitAsync(Timeout);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await UpgradeStatusAsync(WebSocket("/ws", revoked)));
        using var http = App.CreateHttpClient();
        using (await http.GetAsync(new Uri($"/results/x?access_token={token}", UriKind.Relative)).WaitAsync(Timeout))
        {
        }

        // The capture sees the hosting layer's request lines (so it would have seen a token in them) ...
        var entries = fixture.Logs.Entries.ToList();
        Assert.Contains(entries, e => e.Contains("Request starting", StringComparison.Ordinal) && e.Contains("/ws?keep=1", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.Contains("[6142]", StringComparison.Ordinal) && e.Contains("revoked", StringComparison.Ordinal));
        // ... and no entry holds a token or its secret.
        foreach (var leaked in new[] { token, secret, revoked, revoked[(AccessTokenService.Prefix.Length + 33)..] })
        {
            Assert.DoesNotContain(entries, e => e.Contains(leaked, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Creating_checks_the_expiry_limits_the_name_and_the_scopes_and_audits_without_the_secret()
    {
        var user = await TestAccounts.AddAsync(App, TestAccounts.NewEmail("limits"), IrisRoles.Student);
        var limits = App.Services.GetRequiredService<IOptions<AccessTokenOptions>>().Value;

        var byDefault = await CreateAsync(user, scopes: null, days: null);
        var longest = await CreateAsync(user, scopes: null, days: limits.MaxExpiryDays);
        var tooLong = await CreateAsync(user, scopes: null, days: limits.MaxExpiryDays + 1);
        var zero = await CreateAsync(user, scopes: null, days: 0);
        var unknownScope = await CreateAsync(user, scopes: ["runs:write"], days: null);
        var unnamed = await WithTokensAsync(t => t.CreateAsync(user, "  ", null, null, "test", CancellationToken.None));
        var longName = await WithTokensAsync(t => t.CreateAsync(user, new string('n', AccessToken.MaxNameLength + 1), null, null, "test", CancellationToken.None));
        var longestName = await WithTokensAsync(t => t.CreateAsync(user, new string('n', AccessToken.MaxNameLength), null, null, "test", CancellationToken.None));

        var made = byDefault.Created!.Stored;
        Assert.Equal("runs runs:read", made.Scopes);
        Assert.InRange(made.ExpiresAtUtc - made.CreatedAtUtc, TimeSpan.FromDays(limits.DefaultExpiryDays), TimeSpan.FromDays(limits.DefaultExpiryDays));
        Assert.Equal(TimeSpan.FromDays(limits.MaxExpiryDays), longest.Created!.Stored.ExpiresAtUtc - longest.Created.Stored.CreatedAtUtc);
        Assert.Contains("1 to 365 days", tooLong.Error, StringComparison.Ordinal);
        Assert.NotNull(zero.Error);
        Assert.Contains("unknown scope 'runs:write'", unknownScope.Error, StringComparison.Ordinal);
        Assert.Contains("name", unnamed.Error, StringComparison.Ordinal);
        Assert.Contains("1 to 100 characters", longName.Error, StringComparison.Ordinal);
        Assert.True(longestName.Succeeded, longestName.Error);
        Assert.Matches("^iris_pat_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$", byDefault.Created.Token);
        var stored = await WithDbAsync(db => db.AccessTokens.AsNoTracking().SingleAsync(t => t.Id == made.Id));
        Assert.Equal(32, stored.SecretHash.Length);
        Assert.Contains(fixture.Logs.Entries, e => e.Contains("[6140]", StringComparison.Ordinal) && e.Contains(made.Id.ToString(), StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Logs.Entries, e => e.Contains(byDefault.Created.Token[^43..], StringComparison.Ordinal));

        await WithTokensAsync(t => t.RevokeAsync(made.Id, user.Id, user.Id, CancellationToken.None));
        Assert.Contains(fixture.Logs.Entries, e => e.Contains("[6141]", StringComparison.Ordinal) && e.Contains(made.Id.ToString(), StringComparison.Ordinal));
        // Another user cannot revoke it by id.
        var other = await TestAccounts.AddAsync(App, TestAccounts.NewEmail("other"), IrisRoles.Student);
        Assert.Null(await WithTokensAsync(t => t.RevokeAsync(longest.Created.Stored.Id, other.Id, other.Id, CancellationToken.None)));
    }

    [Fact]
    public void Lifetimes_that_never_end_or_exceed_the_maximum_stop_start_up()
    {
        var validator = new AccessTokenOptionsValidator();

        Assert.True(validator.Validate(null, new AccessTokenOptions()).Succeeded);
        Assert.True(validator.Validate(null, new AccessTokenOptions { DefaultExpiryDays = 400 }).Failed);
        Assert.True(validator.Validate(null, new AccessTokenOptions { MaxExpiryDays = AccessTokenOptionsValidator.CeilingDays + 1 }).Failed);
        Assert.True(validator.Validate(null, new AccessTokenOptions { MaxExpiryDays = 0, DefaultExpiryDays = 0 }).Failed);
        Assert.True(validator.Validate(null, new AccessTokenOptions { MaxTokensPerUser = 0 }).Failed);
    }

    internal static Dictionary<string, string> Bearer(string token) => new() { ["Authorization"] = $"Bearer {token}" };

    private Uri WebSocket(string path, string token) => new($"ws://{App.BaseAddress.Authority}{path}?access_token={Uri.EscapeDataString(token)}");

    private HttpClient BearerClient(string token)
    {
        var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    /// <summary>The HTTP status of a WebSocket upgrade that the server refuses.</summary>
    internal static async Task<HttpStatusCode> UpgradeStatusAsync(Uri uri, IReadOnlyDictionary<string, string>? headers = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            socket.Options.SetRequestHeader(name, value);
        }

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(Timeout));
        return socket.HttpStatusCode;
    }

    private async Task<(IrisUser User, string Token)> UserWithTokenAsync(string who, IReadOnlyCollection<string>? scopes = null, string role = IrisRoles.Student)
    {
        var user = await TestAccounts.AddAsync(App, TestAccounts.NewEmail(who), role);
        var result = await CreateAsync(user, scopes, days: null);
        return (user, result.Created!.Token);
    }

    private Task<AccessTokenResult> CreateAsync(IrisUser user, IReadOnlyCollection<string>? scopes, int? days) =>
        WithTokensAsync(t => t.CreateAsync(user, "test token", scopes, days, user.Id, CancellationToken.None));

    private async Task<T> WithTokensAsync<T>(Func<AccessTokenService, Task<T>> action)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<AccessTokenService>()).WaitAsync(Timeout);
    }

    private async Task<T> WithDbAsync<T>(Func<IrisDbContext, Task<T>> action)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<IrisDbContext>()).WaitAsync(Timeout);
    }

    private async Task<T> WithUsersAsync<T>(Func<UserManager<IrisUser>, Task<T>> action)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<UserManager<IrisUser>>()).WaitAsync(Timeout);
    }

    internal static async Task<string> SubmitAsync(HttpClient http, string code = "print(1)")
    {
        using var response = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code }).WaitAsync(Timeout);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"POST /run-code: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeout)).GetProperty("task_id").GetString()!;
    }

    private static async Task<JsonElement> BatchWaitAsync(HttpClient http, string taskId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var result = await http.GetFromJsonAsync<JsonElement>(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout);
            if (result.GetProperty("status").GetString() != "PENDING" || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(200);
        }
    }
}
