namespace IrisIde.Execution.Sessions.Runners;

/// <summary>Makes fresh runners of one backend (containers, pods) and removes them; the pool and the session host use it.</summary>
internal interface IRunnerFactory<TRunner>
    where TRunner : RemoteRunner
{
    /// <summary>
    /// Starts a runner and waits until it answers. <paramref name="owner"/> goes on its labels when known (a runner
    /// made for a waiting session); a pool runner's is empty. <paramref name="expiresAt"/> is when a reaper may take it
    /// whatever its owner.
    /// </summary>
    /// <exception cref="RunnerBackendException">The backend failed, or the runner did not get ready.</exception>
    Task<TRunner> StartAsync(string? owner, DateTimeOffset expiresAt, CancellationToken cancellationToken);

    /// <summary>Removes the runner and whatever was made for it; never throws (the reaper retries what is left).</summary>
    Task RemoveAsync(TRunner runner);
}

/// <summary>The sizes a runner pool keeps to (each backend's options carry them).</summary>
/// <param name="PoolSize">Runners started ahead and waiting for a session.</param>
/// <param name="MaxPoolSize">The most waiting runners when demand grows.</param>
/// <param name="MaxRunners">The most runners at once, waiting, starting and in use.</param>
/// <param name="MaxIdle">A waiting runner older than this is replaced.</param>
/// <param name="SessionLifetime">A session's longest life, for the runners' expiry.</param>
internal sealed record RunnerPoolLimits(int PoolSize, int MaxPoolSize, int MaxRunners, TimeSpan MaxIdle, TimeSpan SessionLifetime);

/// <summary>
/// A runner backend failed: its engine or API server unreachable, an image missing, a runner that never got
/// ready. The message says which, for the operator; sessions see that no runner could be started.
/// </summary>
public abstract class RunnerBackendException(string message, Exception? innerException = null) : IOException(message, innerException)
{
    /// <summary>What a client is told instead of the message, which names the operator's engine, image or nodes.</summary>
    public const string ClientMessage = "the server could not start a runner for this session; try again in a minute";
}
