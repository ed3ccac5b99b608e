namespace IrisIde.Execution.Protocol;

/// <summary>Limits of one <see cref="RunnerProtocolClient"/> connection to a runner.</summary>
public sealed class RunnerProtocolClientOptions
{
    /// <summary>
    /// The largest message accepted from the runner. A compile result carries up to 1 MiB of compiler
    /// output twice (<c>data</c> and <c>stdout</c>), JSON-escaped, so the default leaves room for that; a
    /// bigger message ends the session with <c>internal_error</c> instead of being buffered.
    /// </summary>
    public int MaxMessageBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Events received and not yet read. When full, the client stops reading the socket, so a flooding
    /// runner is slowed by TCP flow control instead of growing this process's memory.
    /// </summary>
    public int MaxBufferedEvents { get; set; } = 1024;

    /// <summary>How long connecting and the runner's answer to the <c>code</c> message may take.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stopped run may take to report its end before the connection is dropped.</summary>
    public TimeSpan StopGrace { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Pings the runner so a dead peer (a deleted pod) is noticed; see <see cref="KeepAliveTimeout"/>.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = RunnerProtocolEndpoints.KeepAliveInterval;

    /// <summary>A runner that does not answer a ping within this is gone: the session ends with <c>internal_error</c>.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = RunnerProtocolEndpoints.KeepAliveTimeout;
}
