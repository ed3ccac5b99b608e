namespace IrisIde.Execution.Sessions.Runners;

/// <summary>What every runner-per-session backend is sized and timed by (its pool, its reaper, a start's patience).</summary>
public abstract class RunnerBackendOptions
{
    /// <summary>How long a new runner may take to answer before the session fails with the reason (the seed's 90 s).</summary>
    public double ReadyTimeoutSeconds { get; set; } = 90;

    /// <summary>Runners started ahead and waiting for a session (each serves one session, then goes).</summary>
    public int PoolSize { get; set; } = 2;

    /// <summary>The most waiting runners when demand grows (a start that found the pool empty adds one, up to this).</summary>
    public int MaxPoolSize { get; set; } = 8;

    /// <summary>The most runners at once, waiting and in use: past it a session is refused as the server being full.</summary>
    public int MaxRunners { get; set; } = 40;

    /// <summary>A waiting runner older than this is replaced by a fresh one.</summary>
    public double PoolMaxIdleSeconds { get; set; } = 1800;

    /// <summary>How often runners whose web app is gone, or whose time is up, are looked for and removed.</summary>
    public double ReaperIntervalSeconds { get; set; } = 60;

    /// <summary>This web app's name on the runners it owns; empty: the backend's default.</summary>
    public string? ReplicaId { get; set; }

    internal RunnerPoolLimits PoolLimits(Protocol.RunnerProtocolOptions protocol) =>
        new(PoolSize, MaxPoolSize, MaxRunners, TimeSpan.FromSeconds(PoolMaxIdleSeconds), TimeSpan.FromSeconds(protocol.MaxSessionSeconds));

    /// <summary>Adds what is wrong with the shared settings to <paramref name="problems"/>, keys named under <paramref name="section"/>.</summary>
    internal void ValidateShared(string section, List<string> problems)
    {
        if (!(ReadyTimeoutSeconds > 0))
        {
            problems.Add($"{section}:ReadyTimeoutSeconds must be positive");
        }

        if (PoolSize < 0 || MaxPoolSize < PoolSize)
        {
            problems.Add($"{section}:PoolSize must be at least 0 and MaxPoolSize at least PoolSize");
        }

        if (MaxRunners < 1 || MaxRunners < MaxPoolSize)
        {
            problems.Add($"{section}:MaxRunners must be at least 1 and at least MaxPoolSize");
        }

        if (!(PoolMaxIdleSeconds > 0) || !(ReaperIntervalSeconds > 0))
        {
            problems.Add($"{section}:PoolMaxIdleSeconds and ReaperIntervalSeconds must be positive");
        }
    }
}
