using System.Net.Http.Headers;
using IrisIde.Tests.Protocol;

namespace IrisIde.Tests.Metrics;

public sealed partial class MetricsEndpointTests
{
    /// <summary>
    /// A real Prometheus scrapes the app's <c>/metrics</c> with the scrape token while runs happen over <c>/ws</c>:
    /// two that end ok, one that ends with a runtime error, one that admission refuses (the fourth start of the
    /// minute). The series arrive under the exported names with the counts the runs made.
    /// </summary>
    [Fact]
    [Trait("Needs", "Prometheus")]
    public async Task Prometheus_scrapes_the_runs_and_refusals_under_their_exported_names()
    {
        await using var prometheus = await PrometheusServer.StartAsync(App.BaseAddress.Authority, MetricsAppFixture.ScrapeToken);
        await prometheus.WaitForAsync("up{job=\"iris\"}", 1);

        foreach (var (source, verdict) in new[] { ("print('hi', flush=True)\n", "ok"), ("print('again')\n", "ok"), ("print('boom')\nraise SystemExit(3)\n", "runtime_error") })
        {
            await using var client = await RunnerTestClient.ConnectAsync(App.WebSocketUri);
            await client.SendCodeAsync("python", source);
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal(verdict, client.One("exit").GetProperty("verdict").GetString());
        }

        await using (var refused = await RunnerTestClient.ConnectAsync(App.WebSocketUri))
        {
            await refused.SendCodeAsync("python", "print('never')\n");
            await refused.ReadToEndAsync().WaitAsync(Timeout);
            Assert.StartsWith("too many runs", refused.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        }

        await prometheus.WaitForAsync("sum(iris_runs_total{surface=\"ws\",verdict=\"ok\",language=\"python\"})", 2);
        await prometheus.WaitForAsync("sum(iris_runs_total{surface=\"ws\",verdict=\"runtime_error\"})", 1);
        await prometheus.WaitForAsync("sum(iris_admission_refused_total{surface=\"ws\",reason=\"rate_limited\"})", 1);
        await prometheus.WaitForAsync("sum(iris_run_duration_seconds_count{surface=\"ws\"})", 3);
        await prometheus.WaitForAsync("sum(iris_sandbox_start_seconds_count{surface=\"ws\"})", 3);
        await prometheus.WaitForAsync("sum(iris_first_output_seconds_count{surface=\"ws\"})", 3);
        await prometheus.WaitForAsync("sum(iris_sessions_active{backend=\"local\",course=\"none\"})", 0);
        await prometheus.WaitForAsync("sum(iris_queue_depth)", 0);
        // The embedded mode runs batch jobs in this process, which heartbeats as its own worker.
        await prometheus.WaitForAsync("sum(iris_workers)", 1);

        // The exported names as Prometheus's own text shows them.
        using var http = App.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", MetricsAppFixture.ScrapeToken);
        using var response = await http.SendAsync(request).WaitAsync(Timeout);
        var text = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        foreach (var type in new[]
        {
            "iris_runs_total counter", "iris_admission_refused_total counter", "iris_run_duration_seconds histogram",
            "iris_sandbox_start_seconds histogram", "iris_first_output_seconds histogram", "iris_sessions_active gauge",
            "iris_queue_depth gauge", "iris_workers gauge",
        })
        {
            Assert.Contains($"# TYPE {type}", text, StringComparison.Ordinal);
        }
    }
}
