using System.Diagnostics.Metrics;
using System.Net;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;
using IrisIde.Web.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Metrics;

/// <summary>Each instrument of <see cref="IrisMetrics"/> records under its name with its labels (a <see cref="MeterListener"/> on this test's own meter factory).</summary>
public sealed class IrisMetricsTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];
    private readonly IrisMetrics _metrics;

    public IrisMetricsTests()
    {
        var factory = _services.GetRequiredService<IMeterFactory>();
        _metrics = new IrisMetrics(factory);
        // Only this test's meter: other tests' apps record on meters of the same name at the same time.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    [Fact]
    public void Each_instrument_records_under_its_name_with_its_labels()
    {
        _metrics.SessionChanged("local", null, +1);
        _metrics.SessionChanged("local", "c1", -1);
        _metrics.RunEnded(SessionSurface.WebSocket, "python", "ok", TimeSpan.FromSeconds(1.5));
        _metrics.ProgramStarted(SessionSurface.Hub, "c", TimeSpan.FromMilliseconds(250));
        _metrics.FirstOutput(SessionSurface.Hub, "c", TimeSpan.FromMilliseconds(300));
        _metrics.JobDequeued("python", TimeSpan.FromSeconds(2));
        _metrics.AdmissionRefused(SessionSurface.Batch, AdmissionRefusal.QueueFull);

        Assert.Equal(
        [
            ("iris.sessions.active", 1, "backend=local course=none"),
            ("iris.sessions.active", -1, "backend=local course=c1"),
            ("iris.runs", 1, "language=python surface=ws verdict=ok"),
            ("iris.run.duration", 1.5, "language=python surface=ws verdict=ok"),
            ("iris.sandbox.start", 0.25, "language=c surface=ide"),
            ("iris.first_output", 0.3, "language=c surface=ide"),
            ("iris.queue.wait", 2, "language=python"),
            ("iris.admission.refused", 1, "reason=queue_full surface=batch"),
        ], _measurements.Select(m => (m.Instrument, m.Value, Describe(m.Tags))));
    }

    [Fact]
    public void The_observed_gauges_report_what_their_sources_say_at_each_collection()
    {
        long queued = 3;
        IReadOnlyList<(string, int)> workers = [("w1", 2), ("w2", 0)];
        _metrics.ObserveQueueDepth(() => queued);
        _metrics.ObserveWorkers(() => workers);

        _listener.RecordObservableInstruments();
        queued = 1;
        workers = [];
        _listener.RecordObservableInstruments();

        Assert.Equal(
        [
            ("iris.queue.depth", 3, ""),
            ("iris.workers", 2, ""),
            ("iris.worker.jobs_in_flight", 2, "worker=w1"),
            ("iris.worker.jobs_in_flight", 0, "worker=w2"),
            ("iris.queue.depth", 1, ""),
            ("iris.workers", 0, ""),
        ], _measurements.Select(m => (m.Instrument, m.Value, Describe(m.Tags))));
        Assert.Throws<InvalidOperationException>(() => _metrics.ObserveQueueDepth(() => 0));
    }

    [Fact]
    public async Task A_refused_session_is_counted_by_surface_and_reason()
    {
        var host = new MeteringSessionHost(new RefusingHost(), _metrics);

        await Assert.ThrowsAsync<SessionRefusedException>(() => host.StartAsync(RunRequestFactory.Interactive("python", [new SourceFile(string.Empty, "print(1)")]), SessionOwner.System(SessionSurface.WebSocket), CancellationToken.None));

        Assert.Equal(("iris.admission.refused", 1, "reason=rate_limited surface=ws"), _measurements.Select(m => (m.Instrument, m.Value, Describe(m.Tags))).Single());
    }

    [Theory]
    [InlineData("", "", false)]
    [InlineData("", null, false)]
    [InlineData("a-scrape-token-long-enough", null, false)]
    [InlineData("a-scrape-token-long-enough", "", false)]
    [InlineData("a-scrape-token-long-enough", "a-scrape-token-long-enougH", false)]
    [InlineData("a-scrape-token-long-enough", "a-scrape-token-long-enough!", false)]
    [InlineData("a-scrape-token-long-enough", "a-scrape-token-long-enough", true)]
    public void A_scrape_token_matches_only_the_configured_one_and_never_when_empty(string presented, string? configured, bool matches) =>
        Assert.Equal(matches, MetricsEndpoint.TokenMatches(presented, configured));

    [Theory]
    [InlineData("127.0.0.1", "127.0.0.1/32", true)]
    [InlineData("::ffff:10.1.2.3", "10.0.0.0/8", true)]
    [InlineData("10.1.2.3", "192.168.0.0/16", false)]
    [InlineData("::1", "127.0.0.1/32", false)]
    public void A_client_address_is_allowed_only_inside_a_listed_network(string address, string network, bool allowed)
    {
        Assert.Equal(allowed, MetricsEndpoint.InAllowedNetwork(IPAddress.Parse(address), [network]));
        Assert.False(MetricsEndpoint.InAllowedNetwork(IPAddress.Parse(address), []));
        Assert.False(MetricsEndpoint.InAllowedNetwork(null, [network]));
    }

    public void Dispose()
    {
        _listener.Dispose();
        _services.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>();
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, copy));
        }
    }

    private static string Describe(Dictionary<string, object?> tags) =>
        string.Join(' ', tags.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));

    private sealed class RefusingHost : ISessionHost
    {
        public string Name => "local";

        public Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken) =>
            throw new SessionRefusedException(AdmissionRefusal.RateLimited, "too many runs");

        public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<LanguageStatus>>([]);
    }
}
