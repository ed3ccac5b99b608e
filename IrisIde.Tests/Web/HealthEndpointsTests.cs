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
        await using var app = await IrisWebApp.StartAsync(SandboxThatCannotStart());
        using var http = app.CreateHttpClient();

        var (status, ready) = await WaitForReadyAsync(http, r => !Description(r.Body, SandboxSelfTest.Name).Contains("not finished", StringComparison.Ordinal));
        using var live = await http.GetAsync("/healthz/live").WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        var check = ready.GetProperty("checks").GetProperty(SandboxSelfTest.Name);
        Assert.Equal("Unhealthy", check.GetProperty("status").GetString());
        Assert.Contains("sandbox", check.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    /// <summary>
    /// The containers' health check (<c>probe</c>, no curl in the images), run as the images run it: the web app's
    /// and the worker's own executables exit 0 for an endpoint answering 2xx and 1 for a 503; 1 for a port nobody
    /// listens on, 2 for a URL that is not http(s).
    /// </summary>
    [Fact]
    public async Task The_probe_command_exits_0_for_healthy_1_for_unhealthy_or_silent_and_2_for_a_bad_url()
    {
        await using var app = await IrisWebApp.StartAsync(SandboxThatCannotStart());
        using var http = app.CreateHttpClient();
        await WaitForReadyAsync(http, r => r.Status == HttpStatusCode.ServiceUnavailable && !Description(r.Body, SandboxSelfTest.Name).Contains("not finished", StringComparison.Ordinal));
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var closedPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var webLive = await ProbeAsync(WebDll(), new Uri(app.BaseAddress, "/healthz/live"));
        var webReady = await ProbeAsync(WebDll(), new Uri(app.BaseAddress, "/healthz/ready"));
        var workerLive = await ProbeAsync(IrisIde.Tests.Batch.WorkerProcess.WorkerDll(), new Uri(app.BaseAddress, "/healthz/live"));
        using var silentOutput = new StringWriter();
        var silent = await IrisIde.Execution.Health.HealthProbe.RunAsync($"http://127.0.0.1:{closedPort}/healthz", silentOutput);
        using var badOutput = new StringWriter();
        var bad = await IrisIde.Execution.Health.HealthProbe.RunAsync("file:///etc/passwd", badOutput);

        Assert.Equal((0, "healthy"), (webLive.Code, LastWord(webLive.Output)));
        Assert.Equal((1, "unhealthy"), (webReady.Code, LastWord(webReady.Output)));
        Assert.Contains("503", webReady.Output, StringComparison.Ordinal);
        Assert.Equal((0, "healthy"), (workerLive.Code, LastWord(workerLive.Output)));
        Assert.Equal((1, "unhealthy"), (silent, LastWord(silentOutput.ToString())));
        Assert.Equal(2, bad);
        Assert.Contains("not an http(s) URL", badOutput.ToString(), StringComparison.Ordinal);
    }

    /// <summary>
    /// A launcher that exits at once without running anything (whether it or bwrap would build the sandbox): the
    /// configuration is valid, no run can start.
    /// </summary>
    private static Dictionary<string, string?> SandboxThatCannotStart() => new(Sandbox) { ["Iris:Sandbox:LauncherPath"] = "/bin/false" };

    private static string LastWord(string output) => output.Trim().Split(' ').Last();

    private static string WebDll() => Path.Combine(AppContext.BaseDirectory, "IrisIde.Web.dll");

    private static async Task<(int Code, string Output)> ProbeAsync(string dll, Uri url)
    {
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("probe");
        start.ArgumentList.Add(url.ToString());
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        return (process.ExitCode, await output + await error);
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
