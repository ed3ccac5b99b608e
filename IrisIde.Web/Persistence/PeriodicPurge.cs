namespace IrisIde.Web.Persistence;

/// <summary>
/// The shape every retention purge shares: one pass at start-up and then one per interval, a failed pass logged
/// and left to the next (the database may be briefly unreachable; the next pass finds the same rows). Each purge
/// says what one pass deletes; passes must be safe for several web instances on one database side by side.
/// </summary>
public abstract class PeriodicPurge(TimeProvider time) : BackgroundService
{
    /// <summary>The clock of the passes and of what is due in them (a fake one in tests).</summary>
    protected TimeProvider Time { get; } = time;

    /// <summary>The pause between passes; read again after each, so a changed setting applies from the next one.</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>One pass: purges everything that is due now; returns how many rows it purged.</summary>
    public abstract Task<int> PurgeAsync(CancellationToken cancellationToken);

    protected abstract void LogFailure(Exception exception);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await PurgeAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogFailure(e);
                }

                await Task.Delay(Interval, Time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
