using System.Threading.RateLimiting;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Admission;

/// <summary>
/// The admission decisions every surface shares: the server's interactive capacity, each client's open
/// sessions, and each client's runs per minute. <see cref="AdmittingSessionHost"/> asks it for every
/// interactive session and the batch submitter for every job; nothing else counts sessions.
/// </summary>
/// <remarks>
/// A slot is a <see cref="AdmissionLease"/>: taken before the session starts, given back once when the
/// session ends or is disposed, whichever comes first. Counters live under one lock; the rate limiter is
/// System.Threading.RateLimiting's (the one ASP.NET Core's middleware uses), partitioned by client, since
/// hub calls and WebSocket messages are not HTTP requests the middleware could see.
/// </remarks>
public sealed class RunAdmission : IDisposable
{
    /// <summary>What a client is told when the server is full: <c>/ws</c>, <c>/run</c> and the hub send exactly this.</summary>
    public const string AtCapacityMessage = "the server is at capacity, try again in a minute";

    private readonly AdmissionOptions _options;
    private readonly ILogger<RunAdmission> _logger;
    private readonly PartitionedRateLimiter<string> _starts;
    private readonly PartitionedRateLimiter<(string Key, int Limit)> _scopedStarts;
    private readonly Dictionary<string, int> _sessionsPerClient = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private int _sessions;

    public RunAdmission(IOptions<AdmissionOptions> options, RunCapacity capacity, ILogger<RunAdmission> logger)
    {
        _options = options.Value;
        _logger = logger;
        SessionCapacity = _options.ResolveMaxSessions(capacity, Environment.ProcessorCount);
        var perMinute = _options.RunsPerMinutePerClient;
        _starts = PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetFixedWindowLimiter(key, _ => new FixedWindowRateLimiterOptions
        {
            PermitLimit = perMinute,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        // A scope's (a course's) own rate: one window per client, scope and limit, so a changed limit starts afresh.
        _scopedStarts = PartitionedRateLimiter.Create<(string Key, int Limit), (string Key, int Limit)>(key => RateLimitPartition.GetFixedWindowLimiter(key, k => new FixedWindowRateLimiterOptions
        {
            PermitLimit = k.Limit,
            Window = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
        AdmissionLog.Capacity(logger, SessionCapacity, capacity.MemoryBytes / (1024 * 1024), Environment.ProcessorCount);
    }

    /// <summary>Interactive sessions this server holds at once.</summary>
    public int SessionCapacity { get; }

    /// <summary>Interactive sessions admitted and not yet over.</summary>
    public int ActiveSessions
    {
        get
        {
            lock (_gate)
            {
                return _sessions;
            }
        }
    }

    private TimeSpan RetryAfter => TimeSpan.FromSeconds(_options.RetryAfterSeconds);

    /// <summary>
    /// Takes a session slot for <paramref name="owner"/>, or throws <see cref="SessionRefusedException"/>
    /// saying why not. The caller disposes the lease when the session is over.
    /// </summary>
    public AdmissionLease AdmitSession(SessionOwner owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        lock (_gate)
        {
            var mine = _sessionsPerClient.GetValueOrDefault(owner.Key);
            if (mine >= _options.MaxSessionsPerClient)
            {
                throw Refuse(owner, AdmissionRefusal.TooManySessions,
                    $"too many sessions: at most {_options.MaxSessionsPerClient} may be open at once per client; close one first");
            }

            if (owner.Caps?.MaxSessions is { } scoped && mine >= scoped)
            {
                throw Refuse(owner, AdmissionRefusal.TooManySessions,
                    $"too many sessions: this course allows at most {scoped} open at once per member; close one first");
            }

            if (_sessions >= SessionCapacity)
            {
                throw Refuse(owner, AdmissionRefusal.AtCapacity, AtCapacityMessage);
            }

            // Counted last, so a refused attempt does not also use up a start of the client's minute.
            TakeStart(owner);
            _sessionsPerClient[owner.Key] = mine + 1;
            _sessions++;
        }

        return new AdmissionLease(this, owner.Key);
    }

    /// <summary>Counts one run start (a batch job) against the client's per-minute allowance, or throws.</summary>
    public void AdmitStart(SessionOwner owner)
    {
        ArgumentNullException.ThrowIfNull(owner);
        TakeStart(owner);
    }

    public void Dispose()
    {
        _starts.Dispose();
        _scopedStarts.Dispose();
    }

    private void TakeStart(SessionOwner owner)
    {
        if (owner.Caps is { RunsPerMinute: { } perMinute } caps)
        {
            using var scoped = _scopedStarts.AttemptAcquire(($"{owner.Key}|{caps.Scope}", perMinute));
            if (!scoped.IsAcquired)
            {
                throw Refuse(owner, AdmissionRefusal.RateLimited,
                    $"too many runs: this course allows at most {perMinute} to start per minute per member; try again in a minute");
            }
        }

        using var lease = _starts.AttemptAcquire(owner.Key);
        if (!lease.IsAcquired)
        {
            throw Refuse(owner, AdmissionRefusal.RateLimited,
                $"too many runs: at most {_options.RunsPerMinutePerClient} may start per minute per client; try again in a minute");
        }
    }

    private SessionRefusedException Refuse(SessionOwner owner, AdmissionRefusal refusal, string message)
    {
        AdmissionLog.Refused(_logger, owner.Surface, refusal);
        return new SessionRefusedException(refusal, message, RetryAfter);
    }

    internal void Release(string key)
    {
        lock (_gate)
        {
            _sessions--;
            if (_sessionsPerClient.TryGetValue(key, out var count) && count > 1)
            {
                _sessionsPerClient[key] = count - 1;
            }
            else
            {
                _sessionsPerClient.Remove(key);
            }
        }
    }
}

/// <summary>One admitted session's slot; disposing gives it back (once, however often it is called).</summary>
public sealed class AdmissionLease : IDisposable
{
    private RunAdmission? _admission;
    private readonly string _key;

    internal AdmissionLease(RunAdmission admission, string key)
    {
        _admission = admission;
        _key = key;
    }

    public void Dispose() => Interlocked.Exchange(ref _admission, null)?.Release(_key);
}

internal static partial class AdmissionLog
{
    [LoggerMessage(EventId = 2201, Level = LogLevel.Information, Message = "Admission: {Sessions} interactive sessions at once ({MemoryForRunsMiB} MiB for runs, {Cores} cores)")]
    public static partial void Capacity(ILogger logger, int sessions, long memoryForRunsMiB, int cores);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information, Message = "Admission refused a run on {Surface}: {Refusal}")]
    public static partial void Refused(ILogger logger, SessionSurface surface, AdmissionRefusal refusal);
}
