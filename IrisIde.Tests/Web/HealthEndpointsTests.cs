using System.Net;
using System.Text.Json;
using IrisIde.Tests.Support;
using IrisIde.Web.Health;

namespace IrisIde.Tests.Web;

/// <summary>The Kubernetes probes on the real app: <c>/healthz/live</c>, <c>/healthz/ready</c> and the old <c>/healthz</c>.</summary>
public sealed class HealthEndpointsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>65324–65329: see <c>WorkerRegistryTests</c> for the rest of the suite's range.</summary>
    private static readonly Dictionary<string, string?> Sandbox = new()
    {
        ["Iris:Sandbox:Uid"] = "65324",
        ["Iris:Sandbox:UidCount"] = "6",
    };

    [Fact]
    public async Task Live_answers_at_once_and_ready_once_the_sandbox_self_test_passed()
    {
        await using var app = await IrisWebApp.StartAsync(Sandbox);
        using var http = app.CreateHttpClient();

        using var live = await http.GetAsync("/healthz/live").WaitAsync(Timeout);
        var liveBody = JsonDocument.Parse(await live.Content.ReadAsStringAsync()).RootElement;
        var (readyStatus, ready) = await WaitForReadyAsync(http, r => r.Status != HttpStatusCode.ServiceUnavailable);
        using var old = await http.GetAsync("/healthz").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("Healthy", liveBody.GetProperty("status").GetString());
        Assert.Equal([ProcessHealthCheck.Name], liveBody.GetProperty("checks").EnumerateObject().Select(c => c.Name));
        Assert.Equal(HttpStatusCode.OK, readyStatus);
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks");
        Assert.Contains(checks.EnumerateObject(), c => c.Name.StartsWith("masstransit", StringComparison.Ordinal));
        foreach (var name in new[] { DatabaseHealthCheck.Name, SessionBackendHealthCheck.Name, SandboxSelfTest.Name, "batch-receive-endpoints" })
        {
            Assert.True(checks.TryGetProperty(name, out var check), $"{name} missing from {ready}");
            Assert.Equal("Healthy", check.GetProperty("status").GetString());
        }

        Assert.Contains("passed", checks.GetProperty(SandboxSelfTest.Name).GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        Assert.Equal("Healthy", await old.Content.ReadAsStringAsync());
    }

    [Fact]
    [Trait("Needs", "PostgreSQL")]
    public async Task Ready_is_unhealthy_with_the_reason_once_the_database_is_gone_and_live_stays_up()
    {
        var database = await TestPostgresDatabase.CreateAsync();
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(Sandbox) { ["ConnectionStrings:Postgres"] = database.ConnectionString });
        using var http = app.CreateHttpClient();
        await WaitForReadyAsync(http, r => r.Status == HttpStatusCode.OK);

        await database.DisposeAsync();
        var (status, ready) = await WaitForReadyAsync(http, r => r.Status == HttpStatusCode.ServiceUnavailable);
        using var live = await http.GetAsync("/healthz/live").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("Unhealthy", ready.GetProperty("status").GetString());
        var check = ready.GetProperty("checks").GetProperty(DatabaseHealthCheck.Name);
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Contains("does not answer", check.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Password", ready.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public async Task Ready_is_unhealthy_with_the_reason_when_the_sandbox_cannot_start()
    {
        // A bwrap that exits at once without running anything: the configuration is valid, no run can start.
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(Sandbox) { ["Iris:Sandbox:BwrapPath"] = "/bin/false" });
        using var http = app.CreateHttpClient();

        var (status, ready) = await WaitForReadyAsync(http, r => !Description(r.Body, SandboxSelfTest.Name).Contains("not finished", StringComparison.Ordinal));
        using var live = await http.GetAsync("/healthz/live").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var check = ready.GetProperty("checks").GetProperty(SandboxSelfTest.Name);
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Contains("sandbox", check.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    private static string Description(JsonElement body, string check) =>
        body.TryGetProperty("checks", out var checks) && checks.TryGetProperty(check, out var entry) ? entry.GetProperty("description").GetString() ?? "" : "";

    private static async Task<(HttpStatusCode Status, JsonElement Body)> WaitForReadyAsync(HttpClient http, Func<(HttpStatusCode Status, JsonElement Body), bool> until)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            using var response = await http.GetAsync("/healthz/ready").WaitAsync(Timeout);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout)).RootElement.Clone();
            if (until((response.StatusCode, body)) || DateTime.UtcNow > deadline)
            {
                return (response.StatusCode, body);
            }

            await Task.Delay(250);
        }
    }
}
