namespace IrisIde.Execution.Admission;

/// <summary>Why admission turned a run away.</summary>
public enum AdmissionRefusal
{
    /// <summary>The server cannot hold another run now; retry later (WebSocket close 1013, HTTP 503).</summary>
    AtCapacity,

    /// <summary>The client has as many sessions open as it may.</summary>
    TooManySessions,

    /// <summary>The client started too many runs in the last minute (HTTP 429).</summary>
    RateLimited,

    /// <summary>The client has as many batch jobs queued as it may (HTTP 429).</summary>
    TooManyQueued,

    /// <summary>The batch queue as a whole is full (HTTP 503).</summary>
    QueueFull,
}

/// <summary>Thrown when admission refuses a session or a batch job; the message is meant for the client.</summary>
public sealed class SessionRefusedException(AdmissionRefusal refusal, string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public AdmissionRefusal Refusal { get; } = refusal;

    /// <summary>When it makes sense to try again, if known.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>True when the server as a whole is full rather than this client over its share.</summary>
    public bool IsServerFull => Refusal is AdmissionRefusal.AtCapacity or AdmissionRefusal.QueueFull;
}
