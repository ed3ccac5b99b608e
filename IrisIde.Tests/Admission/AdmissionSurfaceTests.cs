using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using IrisIde.Execution.Admission;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using Microsoft.AspNetCore.SignalR.Client;

namespace IrisIde.Tests.Admission;

/// <summary>
/// Every cap of the admission layer crossed on every interactive surface of the real web app, with the
/// message the client gets. Each test starts an app with just the cap it crosses set small, under a
/// sandbox uid of its own so "nothing left behind" means this test's runs.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class AdmissionSurfaceTests
{
    internal const int SandboxUid = 63090;

    internal const int SandboxUidCount = 64;
    private const string WaitForInput = "print('up', flush=True)\ninput()\n";
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    [Fact]
    public async Task A_websocket_past_capacity_gets_the_capacity_error_and_close_1013_while_admitted_ones_run()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:MaxSessions"] = "2" });
        await using var first = await StartWaitingAsync(app);
        await using var second = await StartWaitingAsync(app);

        await using var third = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await third.SendCodeAsync("python", "print('never')\n");
        await third.ReadToEndAsync().WaitAsync(Timeout);

        var error = Assert.Single(third.Received);
        Assert.Equal("""{"type":"error","error":"the server is at capacity, try again in a minute"}""", error.GetRawText());
        Assert.Equal((WebSocketCloseStatus)1013, third.CloseStatus);

        // The admitted two are untouched, and a slot given back is a slot again.
        await first.SendInputAsync("\r");
        await first.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("ok", first.One("exit").GetProperty("verdict").GetString());
        await using var fourth = await StartWaitingAsync(app);
    }

    [Fact]
    public async Task The_seed_path_run_obeys_the_same_capacity()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:MaxSessions"] = "1" });
        await using var first = await StartWaitingAsync(app);

        await using var second = await RunnerTestClient.ConnectAsync(new Uri(app.WebSocketUri, "/run"));
        await second.SendCodeAsync("python", "print('never')\n");
        await second.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal(RunAdmission.AtCapacityMessage, second.One("error").GetProperty("error").GetString());
        Assert.Equal((WebSocketCloseStatus)1013, second.CloseStatus);
    }

    [Fact]
    public async Task The_hub_past_capacity_sends_its_error_event_with_the_same_message()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:MaxSessions"] = "1" });
        await using var first = await StartWaitingAsync(app);
        await using var hub = await ConnectHubAsync(app);

        var events = await RunOnHubAsync(hub, "print('never')\n");

        var only = Assert.Single(events);
        Assert.Equal("error", only.GetProperty("type").GetString());
        Assert.Equal(RunAdmission.AtCapacityMessage, only.GetProperty("message").GetString());
    }

    [Fact]
    public async Task One_client_is_capped_across_websocket_and_hub_together()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:MaxSessionsPerClient"] = "2" });
        await using var ws = await StartWaitingAsync(app);
        await using var hub = await ConnectHubAsync(app);
        using var cancel = new CancellationTokenSource(Timeout);
        var second = hub.StreamAsync<JsonElement>("StartRun", HubRequest(WaitForInput), cancel.Token).GetAsyncEnumerator(cancel.Token);
        Assert.True(await second.MoveNextAsync());
        Assert.Equal("started", second.Current.GetProperty("type").GetString());

        await using var third = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await third.SendCodeAsync("python", "print('never')\n");
        await third.ReadToEndAsync().WaitAsync(Timeout);
        var hubThird = await RunOnHubAsync(hub, "print('never')\n");

        const string TooMany = "too many sessions: at most 2 may be open at once per client; close one first";
        Assert.Equal(TooMany, third.One("error").GetProperty("error").GetString());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, third.CloseStatus);
        Assert.Equal(TooMany, Assert.Single(hubThird).GetProperty("message").GetString());
        await second.DisposeAsync();
    }

    [Fact]
    public async Task Runs_started_per_minute_are_capped_per_client()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:RunsPerMinutePerClient"] = "2" });
        for (var i = 0; i < 2; i++)
        {
            await using var ok = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
            await ok.SendCodeAsync("python", "print(1)\n");
            await ok.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("ok", ok.One("exit").GetProperty("verdict").GetString());
        }

        await using var third = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await third.SendCodeAsync("python", "print(1)\n");
        await third.ReadToEndAsync().WaitAsync(Timeout);
        await using var hub = await ConnectHubAsync(app);
        var fourth = await RunOnHubAsync(hub, "print(1)\n");

        const string TooFast = "too many runs: at most 2 may start per minute per client; try again in a minute";
        Assert.Equal(TooFast, third.One("error").GetProperty("error").GetString());
        Assert.Equal(TooFast, Assert.Single(fourth).GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_forwarded_address_from_an_untrusted_peer_does_not_buy_a_new_allowance()
    {
        await using var app = await StartAppAsync(new() { ["Iris:Admission:MaxSessionsPerClient"] = "1" });
        await using var first = await StartWaitingAsync(app);

        await using var spoofing = await RunnerTestClient.ConnectAsync(app.WebSocketUri, new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.7" });
        await spoofing.SendCodeAsync("python", "print('never')\n");
        await spoofing.ReadToEndAsync().WaitAsync(Timeout);

        Assert.True(spoofing.OfType("error").Count() == 1, spoofing.Describe());
        Assert.StartsWith("too many sessions", spoofing.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Behind_a_configured_proxy_each_forwarded_client_has_its_own_allowance()
    {
        await using var app = await StartAppAsync(new()
        {
            ["Iris:Admission:MaxSessionsPerClient"] = "1",
            ["Iris:Security:TrustedProxies:0"] = "127.0.0.1",
        });
        var student = new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.7" };
        await using var first = await RunnerTestClient.ConnectAsync(app.WebSocketUri, student);
        await first.SendCodeAsync("python", WaitForInput);
        await first.WaitForStdoutAsync("up").WaitAsync(Timeout);

        // Another student behind the same proxy runs; the same student again does not.
        await using var other = await RunnerTestClient.ConnectAsync(app.WebSocketUri, new Dictionary<string, string> { ["X-Forwarded-For"] = "203.0.113.8" });
        await other.SendCodeAsync("python", "print('mine')\n");
        await other.ReadToEndAsync().WaitAsync(Timeout);
        await using var again = await RunnerTestClient.ConnectAsync(app.WebSocketUri, student);
        await again.SendCodeAsync("python", "print('never')\n");
        await again.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("mine\n", other.Text("stdout"));
        Assert.StartsWith("too many sessions", again.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Three_hundred_sessions_at_once_against_fifty_fifty_run_the_rest_are_told_and_nothing_is_left()
    {
        await using var app = await StartAppAsync(new()
        {
            ["Iris:Admission:MaxSessions"] = "50",
            ["Iris:Admission:MaxSessionsPerClient"] = "1000",
        });
        using var http = app.CreateHttpClient();
        using var stopHealth = new CancellationTokenSource();
        var health = PollHealthAsync(http, stopHealth.Token);

        var clients = await Task.WhenAll(Enumerable.Range(0, 300).Select(async _ =>
        {
            var client = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
            await client.SendCodeAsync("python", WaitForInput);
            return client;
        })).WaitAsync(TimeSpan.FromMinutes(5));
        try
        {
            // Each either runs (prints "up") or is refused with the capacity error and close 1013.
            var outcomes = await Task.WhenAll(clients.Select(async c =>
            {
                while (true)
                {
                    var message = await c.ReceiveAsync().WaitAsync(TimeSpan.FromMinutes(5));
                    if (message is null)
                    {
                        return c.OfType("error").Any() ? "refused" : "closed";
                    }

                    if (message.Value.GetProperty("type").GetString() == "stdout")
                    {
                        return "running";
                    }
                }
            }));

            var counts = string.Join(", ", outcomes.GroupBy(o => o).Select(g => $"{g.Key}: {g.Count()}"));
            Assert.True(outcomes.Count(o => o == "running") == 50, counts);
            Assert.Equal(250, outcomes.Count(o => o == "refused"));
            Assert.All(clients.Where(c => c.OfType("error").Any()), c =>
            {
                Assert.Equal(RunAdmission.AtCapacityMessage, c.One("error").GetProperty("error").GetString());
                Assert.Equal((WebSocketCloseStatus)1013, c.CloseStatus);
            });
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask())).WaitAsync(TimeSpan.FromMinutes(2));
        }

        await stopHealth.CancelAsync();
        var (answered, failures) = await health.WaitAsync(Timeout);
        Assert.True(answered > 0, "/healthz was never asked");
        Assert.Empty(failures);
        HostProcesses.AssertNoneLeft(await ReadySandboxes.RemainingAfterAsync(app.Services, SandboxUid, TimeSpan.FromSeconds(20), SandboxUidCount));

        // Every slot comes back once its run is cleaned up (a closed socket's run ends a little after the close).
        var admission = (RunAdmission)app.Services.GetService(typeof(RunAdmission))!;
        var deadline = DateTime.UtcNow + Timeout;
        while (admission.ActiveSessions > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.Equal(0, admission.ActiveSessions);
    }

    internal static Task<IrisWebApp> StartAppAsync(Dictionary<string, string?> settings)
    {
        settings["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture);
        settings["Iris:Sandbox:UidCount"] = SandboxUidCount.ToString(CultureInfo.InvariantCulture);
        settings.TryAdd("Iris:Admission:RunsPerMinutePerClient", "100000");
        return IrisWebApp.StartAsync(settings);
    }

    private static async Task<RunnerTestClient> StartWaitingAsync(IrisWebApp app)
    {
        var client = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await client.SendCodeAsync("python", WaitForInput);
        await client.WaitForStdoutAsync("up").WaitAsync(Timeout);
        return client;
    }

    internal static async Task<HubConnection> ConnectHubAsync(IrisWebApp app)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(app.BaseAddress, "/hubs/execution"), options => options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets)
            .Build();
        await connection.StartAsync().WaitAsync(Timeout);
        return connection;
    }

    private static object HubRequest(string source) => new { language = "python", files = new[] { new { name = string.Empty, content = source } } };

    private static async Task<List<JsonElement>> RunOnHubAsync(HubConnection hub, string source)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var events = new List<JsonElement>();
        await foreach (var e in hub.StreamAsync<JsonElement>("StartRun", HubRequest(source), cancel.Token))
        {
            events.Add(e);
        }

        return events;
    }

    private static async Task<(int Answered, List<string> Failures)> PollHealthAsync(HttpClient http, CancellationToken stop)
    {
        var answered = 0;
        var failures = new List<string>();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
                answered++;
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"/healthz answered {(int)response.StatusCode}");
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TimeoutException)
            {
                failures.Add($"/healthz failed: {ex.Message}");
            }

            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return (answered, failures);
    }
}
