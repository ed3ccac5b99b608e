using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Execution.Admission;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// A signed-in user's runs are admitted under the user's id, not the address: per-client caps count the
/// user across connections, and batch jobs record the user as their owner.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class SignedInRunsTests
{
    private const string WaitForInput = "print('up', flush=True)\ninput()\n";
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    [Fact]
    public async Task A_signed_in_users_sessions_count_under_the_user_not_the_address_on_websocket_and_hub()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Admission:MaxSessionsPerClient"] = "1",
            ["Iris:Sandbox:Uid"] = (AccountsAppFixture.SandboxUid + 20).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        var ann = await SignedInCookieAsync(app, "ann");
        var bob = await SignedInCookieAsync(app, "bob");

        // Ann's session takes her one slot; Bob and an anonymous client on the same address still run.
        await using var annFirst = await StartWaitingAsync(app, ann);
        await using var bobFirst = await StartWaitingAsync(app, bob);
        await using var anonymous = await StartWaitingAsync(app, null);

        await using var annSecond = await RunnerTestClient.ConnectAsync(app.WebSocketUri, new Dictionary<string, string> { ["Cookie"] = ann });
        await annSecond.SendCodeAsync("python", "print('never')\n");
        await annSecond.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Contains("too many sessions", annSecond.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);

        // The hub counts Ann under the same key as /ws; Bob's cap is his own.
        var annHub = await RunOnHubAsync(app, ann, "print('never')\n");
        Assert.Equal("error", Assert.Single(annHub).GetProperty("type").GetString());
        Assert.Contains("too many sessions", annHub[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        await bobFirst.SendInputAsync("\r");
        await bobFirst.ReadToEndAsync().WaitAsync(Timeout);
        var bobHub = await RunOnHubAsync(app, bob, "print('bob on the hub')\n");
        Assert.Equal("exit", bobHub[^1].GetProperty("type").GetString());
    }

    private static async Task<List<JsonElement>> RunOnHubAsync(IrisWebApp app, string cookie, string source)
    {
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "/hubs/execution"), options =>
            {
                options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                options.Headers["Cookie"] = cookie;
            })
            .Build();
        await hub.StartAsync().WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);
        var events = new List<JsonElement>();
        var request = new { language = "python", files = new[] { new { name = string.Empty, content = source } } };
        await foreach (var e in hub.StreamAsync<JsonElement>("StartRun", request, cancel.Token))
        {
            events.Add(e);
        }

        return events;
    }

    [Fact]
    public async Task A_signed_in_users_batch_job_is_owned_by_and_keyed_to_the_user()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Uid"] = (AccountsAppFixture.SandboxUid + 40).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        var email = TestAccounts.NewEmail("batch");
        var user = await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        using var anonymous = new AccountTestClient(app.BaseAddress);

        var mine = await SubmitAsync(client);
        var theirs = await SubmitAsync(anonymous);

        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        var signedIn = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == mine).WaitAsync(Timeout);
        var anon = await db.Runs.AsNoTracking().SingleAsync(r => r.Id == theirs).WaitAsync(Timeout);
        Assert.Equal((user.Id, $"user:{user.Id}"), (signedIn.Owner, signedIn.ClientKey));
        Assert.Equal((null, ClientKeys.ForAddress(IPAddress.Loopback)), (anon.Owner, anon.ClientKey));
    }

    private static async Task<Guid> SubmitAsync(AccountTestClient client)
    {
        using var response = await client.Http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = "print(1)" }).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeout);
        return Guid.Parse(body.GetProperty("task_id").GetString()!);
    }

    /// <summary>Signs a new student in and returns the Cookie header a WebSocket client sends.</summary>
    private static async Task<string> SignedInCookieAsync(IrisWebApp app, string who)
    {
        var email = TestAccounts.NewEmail(who);
        await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        return $"iris.session={client.SessionCookie}";
    }

    private static async Task<RunnerTestClient> StartWaitingAsync(IrisWebApp app, string? cookie)
    {
        var client = await RunnerTestClient.ConnectAsync(app.WebSocketUri, cookie is null ? null : new Dictionary<string, string> { ["Cookie"] = cookie });
        await client.SendCodeAsync("python", WaitForInput);
        await client.WaitForStdoutAsync("up").WaitAsync(Timeout);
        return client;
    }
}
