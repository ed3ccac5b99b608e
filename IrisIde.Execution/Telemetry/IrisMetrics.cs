using System.Diagnostics;
using System.Diagnostics.Metrics;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Sessions;

namespace IrisIde.Execution.Telemetry;

/// <summary>
/// Every instrument of the <c>IrisIde</c> meter, in one place: the code where runs start, end, wait and are refused
/// calls these methods, and the OpenTelemetry exporters (Prometheus on the web app's <c>/metrics</c>, OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set) read the meter. Names follow OpenTelemetry's dotted style; the
/// Prometheus exporter turns <c>iris.run.duration</c> (unit <c>s</c>) into <c>iris_run_duration_seconds</c> and a
/// counter <c>iris.runs</c> into <c>iris_runs_total</c> (README, Metrics, lists the exported names).
/// </summary>
/// <remarks>
/// Label values are bounded sets (surfaces, backends, language ids, verdicts, refusal reasons, course ids, worker
/// ids); nothing a client types freely becomes a label.
/// </remarks>
public sealed class IrisMetrics
{
    /// <summary>The meter's name, for <c>AddMeter</c> and listeners.</summary>
    public const string MeterName = "IrisIde";

    /// <summary>The label value of a run outside any course.</summary>
    public const string NoCourse = "none";

    private readonly Meter _meter;
    private readonly UpDownCounter<long> _sessionsActive;
    private readonly Counter<long> _runs;
    private readonly Histogram<double> _runDuration;
    private readonly Histogram<double> _sandboxStart;
    private readonly Histogram<double> _firstOutput;
    private readonly Histogram<double> _queueWait;
    private readonly Counter<long> _admissionRefused;
    private readonly Lock _gate = new();
    private readonly RecentValues _recentStarts = new();
    private readonly RecentValues _recentRefusals = new();
    private bool _queueObserved;
    private bool _workersObserved;

    public IrisMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        _meter = meterFactory.Create(MeterName);
        _sessionsActive = _meter.CreateUpDownCounter<long>("iris.sessions.active", unit: null, "Interactive sessions open now");
        _runs = _meter.CreateCounter<long>("iris.runs", unit: null, "Runs ended");
        _runDuration = _meter.CreateHistogram("iris.run.duration", "s", "Wall time of a run, from its start to its end", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _sandboxStart = _meter.CreateHistogram("iris.sandbox.start", "s", "From the request to the program started (compile included)", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _firstOutput = _meter.CreateHistogram("iris.first_output", "s", "From the request to the program's first output", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets });
        _queueWait = _meter.CreateHistogram("iris.queue.wait", "s", "Batch jobs: from queued to started", advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _admissionRefused = _meter.CreateCounter<long>("iris.admission.refused", unit: null, "Runs and sessions admission turned away");
    }

    /// <summary>Start-up latencies: milliseconds to a few seconds matter.</summary>
    private static readonly IReadOnlyList<double> LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    /// <summary>Run lengths and queue waits: from a blink to the interactive maximum (30 minutes).</summary>
    private static readonly IReadOnlyList<double> DurationBuckets = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 1800];

    /// <summary>The label value of a surface, as the run history spells it.</summary>
    public static string SurfaceName(SessionSurface surface) => surface switch
    {
        SessionSurface.WebSocket => "ws",
        SessionSurface.Hub => "ide",
        SessionSurface.Batch => "batch",
        _ => "unknown",
    };

    /// <summary>The label value of a refusal reason (snake_case, like verdicts).</summary>
    public static string ReasonName(AdmissionRefusal refusal) => refusal switch
    {
        AdmissionRefusal.AtCapacity => "at_capacity",
        AdmissionRefusal.TooManySessions => "too_many_sessions",
        AdmissionRefusal.RateLimited => "rate_limited",
        AdmissionRefusal.TooManyQueued => "too_many_queued",
        AdmissionRefusal.QueueFull => "queue_full",
        _ => "unknown",
    };

    /// <summary>An interactive session opened (+1) or ended (−1).</summary>
    public void SessionChanged(string backend, string? course, int delta) =>
        _sessionsActive.Add(delta, new KeyValuePair<string, object?>("backend", backend), new KeyValuePair<string, object?>("course", course ?? NoCourse));

    /// <summary>A run ended: counted by surface, language and verdict (wire name), and its wall time recorded.</summary>
    public void RunEnded(SessionSurface surface, string language, string verdict, TimeSpan duration)
    {
        var tags = new TagList
        {
            { "surface", SurfaceName(surface) },
            { "language", language },
            { "verdict", verdict },
        };
        _runs.Add(1, tags);
        _runDuration.Record(Math.Max(0, duration.TotalSeconds), tags);
    }

    /// <summary>The program of a run started, <paramref name="sinceRequest"/> after it was asked for.</summary>
    public void ProgramStarted(SessionSurface surface, string language, TimeSpan sinceRequest)
    {
        _sandboxStart.Record(Math.Max(0, sinceRequest.TotalSeconds), new KeyValuePair<string, object?>("surface", SurfaceName(surface)), new KeyValuePair<string, object?>("language", language));
        _recentStarts.Add(Math.Max(0, sinceRequest.TotalSeconds));
    }

    /// <summary>This process's latest start latencies (seconds, at most <see cref="RecentValues.Capacity"/>), with when each was taken: the admin dashboard's p50/p95.</summary>
    public IReadOnlyList<(long Timestamp, double Value)> RecentStarts() => _recentStarts.Snapshot();

    /// <summary>This process's latest admission refusals, with when each happened (the value is unused).</summary>
    public IReadOnlyList<(long Timestamp, double Value)> RecentRefusals() => _recentRefusals.Snapshot();

    /// <summary>The program wrote its first output, <paramref name="sinceRequest"/> after the run was asked for.</summary>
    public void FirstOutput(SessionSurface surface, string language, TimeSpan sinceRequest) =>
        _firstOutput.Record(Math.Max(0, sinceRequest.TotalSeconds), new KeyValuePair<string, object?>("surface", SurfaceName(surface)), new KeyValuePair<string, object?>("language", language));

    /// <summary>A batch job was taken from the queue <paramref name="waited"/> after it was queued.</summary>
    public void JobDequeued(string language, TimeSpan waited) =>
        _queueWait.Record(Math.Max(0, waited.TotalSeconds), new KeyValuePair<string, object?>("language", language));

    /// <summary>Admission turned a session or a batch job away.</summary>
    public void AdmissionRefused(SessionSurface surface, AdmissionRefusal refusal)
    {
        _admissionRefused.Add(1, new KeyValuePair<string, object?>("surface", SurfaceName(surface)), new KeyValuePair<string, object?>("reason", ReasonName(refusal)));
        _recentRefusals.Add(1);
    }

    /// <summary>
    /// Publishes <c>iris.queue.depth</c> (batch jobs queued now) from <paramref name="queuedJobs"/>, read at each
    /// collection; only the process that can see the queue (the web app, through its database) calls this, once.
    /// </summary>
    public void ObserveQueueDepth(Func<long> queuedJobs)
    {
        ArgumentNullException.ThrowIfNull(queuedJobs);
        lock (_gate)
        {
            if (_queueObserved)
            {
                throw new InvalidOperationException("iris.queue.depth is observed already");
            }

            _queueObserved = true;
            _meter.CreateObservableGauge("iris.queue.depth", queuedJobs, unit: null, "Batch jobs queued now (not yet started)");
        }
    }

    /// <summary>
    /// Publishes <c>iris.workers</c> (workers alive) and <c>iris.worker.jobs_in_flight</c> (jobs each runs now) from
    /// <paramref name="aliveWorkers"/>, read at each collection; called once, by the web app.
    /// </summary>
    public void ObserveWorkers(Func<IReadOnlyList<(string WorkerId, int InFlight)>> aliveWorkers)
    {
        ArgumentNullException.ThrowIfNull(aliveWorkers);
        lock (_gate)
        {
            if (_workersObserved)
            {
                throw new InvalidOperationException("iris.workers is observed already");
            }

            _workersObserved = true;
            _meter.CreateObservableGauge("iris.workers", () => (long)aliveWorkers().Count, unit: null, "Batch workers alive");
            _meter.CreateObservableGauge(
                "iris.worker.jobs_in_flight",
                () => aliveWorkers().Select(w => new Measurement<long>(w.InFlight, new KeyValuePair<string, object?>("worker", w.WorkerId))),
                unit: null,
                "Batch jobs each alive worker runs now");
        }
    }
}

/// <summary>The latest values of one figure, each with its <see cref="Stopwatch"/> timestamp; the oldest go past <see cref="Capacity"/>.</summary>
public sealed class RecentValues
{
    public const int Capacity = 2048;

    private readonly Lock _gate = new();
    private readonly Queue<(long Timestamp, double Value)> _values = new();

    public void Add(double value)
    {
        lock (_gate)
        {
            if (_values.Count == Capacity)
            {
                _values.Dequeue();
            }

            _values.Enqueue((Stopwatch.GetTimestamp(), value));
        }
    }

    public IReadOnlyList<(long Timestamp, double Value)> Snapshot()
    {
        lock (_gate)
        {
            return [.. _values];
        }
    }
}
