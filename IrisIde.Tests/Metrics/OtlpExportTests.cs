using System.Globalization;
using System.Text;
using IrisIde.Execution.Telemetry;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Metrics;

/// <summary>
/// The OTLP export for real: the app's own OpenTelemetry exporter pushes to <see cref="OtlpReceiver"/> over
/// OTLP/HTTP, configured only by the standard <c>OTEL_*</c> settings. Sandbox uids 65420-65423.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class OtlpExportTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// With <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c> and a 500 ms
    /// <c>OTEL_METRIC_EXPORT_INTERVAL</c> in its configuration, the web app runs two python programs over
    /// <c>/ws</c>, one ok and one that exits 3. The receiver's protobuf bodies come to carry, under the
    /// <c>IrisIde</c> scope and the instruments' own names: <c>iris.runs</c> as a cumulative monotonic sum with one
    /// run per verdict (ok, runtime_error) for surface ws, <c>iris.run.duration</c> as a histogram in seconds
    /// counting both, <c>iris.sessions.active</c> back at 0; every resource names its service <c>iris-web</c>
    /// (not the SDK's <c>unknown_service:</c> default), with a version.
    /// </summary>
    [Fact]
    public async Task The_runs_arrive_over_OTLP_under_their_instrument_names()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            [TelemetryServiceCollectionExtensions.OtlpEndpointKey] = receiver.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
            ["Iris:Sandbox:Uid"] = "65420",
            ["Iris:Sandbox:UidCount"] = "4",
        });

        foreach (var (source, verdict) in new[] { ("print('hi', flush=True)\n", "ok"), ("print('boom')\nraise SystemExit(3)\n", "runtime_error") })
        {
            await using var client = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
            await client.SendCodeAsync("python", source);
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal(verdict, client.One("exit").GetProperty("verdict").GetString());
        }

        var deadline = DateTime.UtcNow + Timeout;
        var requests = receiver.Requests();
        var unmet = Unmet(requests, receiver.Refused());
        while (unmet.Count > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            requests = receiver.Requests();
            unmet = Unmet(requests, receiver.Refused());
        }

        if (unmet.Count > 0)
        {
            Assert.Fail($"""
                After {Timeout.TotalSeconds} s the OTLP receiver still lacks:
                  {string.Join("\n  ", unmet)}
                {Describe(requests, receiver.Refused())}
                """);
        }
    }

    /// <summary>The expectations the requests so far do not meet (all met: empty).</summary>
    private static List<string> Unmet(IReadOnlyList<OtlpMetricsRequest> requests, IReadOnlyList<string> refused)
    {
        var unmet = new List<string>();
        Expect(unmet, "no request the receiver refused (wrong path, method or content type)", refused.Count == 0);
        var resources = requests.SelectMany(r => r.ResourceMetrics).ToList();
        Expect(unmet, "an export with a resource", resources.Count > 0);
        Expect(unmet, "service.name iris-web on every resource", resources.All(r => r.Resource.GetValueOrDefault("service.name") == "iris-web"));
        Expect(unmet, "service.version on every resource", resources.All(r => !string.IsNullOrEmpty(r.Resource.GetValueOrDefault("service.version"))));

        var runs = Latest(requests, "iris.runs");
        Expect(unmet, "iris.runs: a cumulative monotonic sum", runs is { Kind: OtlpMetricKind.Sum, Temporality: OtlpMetric.Cumulative, IsMonotonic: true });
        var wsRuns = (runs?.Points ?? []).Where(p => p.Attributes.GetValueOrDefault("surface") == "ws").Select(p => p.ToString()).Order(StringComparer.Ordinal);
        Expect(
            unmet,
            "iris.runs for surface ws: exactly {language=python, surface=ws, verdict=ok} 1 and {language=python, surface=ws, verdict=runtime_error} 1",
            wsRuns.SequenceEqual(["{language=python, surface=ws, verdict=ok} 1", "{language=python, surface=ws, verdict=runtime_error} 1"]));

        var duration = Latest(requests, "iris.run.duration");
        Expect(unmet, "iris.run.duration: a cumulative histogram in s", duration is { Kind: OtlpMetricKind.Histogram, Temporality: OtlpMetric.Cumulative, Unit: "s" });
        var wsDurations = (duration?.Points ?? []).Where(p => p.Attributes.GetValueOrDefault("surface") == "ws").Sum(p => (long)(p.Count ?? 0));
        Expect(unmet, "iris.run.duration for surface ws: count 2", wsDurations == 2);

        var sessions = Latest(requests, "iris.sessions.active");
        Expect(unmet, "iris.sessions.active: a cumulative non-monotonic sum", sessions is { Kind: OtlpMetricKind.Sum, Temporality: OtlpMetric.Cumulative, IsMonotonic: false });
        Expect(unmet, "iris.sessions.active: {backend=local, course=none} 0", sessions?.Points.Any(p => p.ToString() == "{backend=local, course=none} 0") == true);
        return unmet;
    }

    private static void Expect(List<string> unmet, string expectation, bool met)
    {
        if (!met)
        {
            unmet.Add(expectation);
        }
    }

    /// <summary>The metric <paramref name="name"/> of the app's meter in the latest request that carries it: with cumulative temporality, its totals so far.</summary>
    private static OtlpMetric? Latest(IReadOnlyList<OtlpMetricsRequest> requests, string name) =>
        requests.SelectMany(r => r.ResourceMetrics).SelectMany(r => r.Scopes)
            .Where(s => s.Scope == IrisMetrics.MeterName)
            .SelectMany(s => s.Metrics)
            .LastOrDefault(m => m.Name == name);

    /// <summary>What arrived: how many requests, the refused ones, and the latest request in full.</summary>
    private static string Describe(IReadOnlyList<OtlpMetricsRequest> requests, IReadOnlyList<string> refused)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{requests.Count} export requests arrived");
        text.Append(refused.Count == 0 ? ", none refused" : $"; refused: {string.Join("; ", refused)}");
        if (requests.Count == 0)
        {
            return text.ToString();
        }

        text.Append("; the latest:");
        foreach (var resource in requests[^1].ResourceMetrics)
        {
            text.Append("\n  resource ").AppendJoin(", ", resource.Resource.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));
            foreach (var scope in resource.Scopes)
            {
                text.Append("\n    scope '").Append(scope.Scope).Append('\'');
                foreach (var metric in scope.Metrics)
                {
                    text.Append(CultureInfo.InvariantCulture, $"\n      {metric.Name} ({metric.Kind}, temporality {metric.Temporality}, {(metric.IsMonotonic ? "monotonic" : "not monotonic")}, unit '{metric.Unit}')");
                    foreach (var point in metric.Points)
                    {
                        text.Append("\n        ").Append(point);
                    }
                }
            }
        }

        return text.ToString();
    }
}
