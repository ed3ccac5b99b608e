using IrisIde.Web.Persistence;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Batch;

public static class RunRetentionServiceCollectionExtensions
{
    /// <summary>The retention purge; its settings are <see cref="BatchApiOptions"/> (registered by <c>AddRunCallbacks</c>).</summary>
    public static IServiceCollection AddRunRetention(this IServiceCollection services)
    {
        services.TryAddSingleton<RunRetentionPurge>();
        services.AddHostedService(provider => provider.GetRequiredService<RunRetentionPurge>());
        return services;
    }
}

/// <summary>
/// Removes the files, stdin and output of batch runs that finished more than <c>Iris:Batch:RetentionDays</c>
/// ago: at start-up and then every <c>RetentionPurgeIntervalMinutes</c>, in batches so one pass never holds a
/// long transaction. Each run is expired by a conditional UPDATE, so several web instances on one database
/// purge side by side without harm. The rows stay: <c>GET /results/{id}</c> of such a run says it expired.
/// </summary>
public sealed class RunRetentionPurge(
    IServiceScopeFactory scopes,
    IOptionsMonitor<BatchApiOptions> options,
    TimeProvider timeProvider,
    ILogger<RunRetentionPurge> logger) : PeriodicPurge(timeProvider)
{
    private const int BatchSize = 200;

    protected override TimeSpan Interval => TimeSpan.FromMinutes(options.CurrentValue.RetentionPurgeIntervalMinutes);

    // The database may be briefly unreachable; the next pass finds the same runs.
    protected override void LogFailure(Exception exception) => RunRetentionLog.PurgeFailed(logger, exception);

    /// <summary>One pass: expires every run that is due now; returns how many.</summary>
    public override async Task<int> PurgeAsync(CancellationToken cancellationToken)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        var finishedBefore = now - TimeSpan.FromDays(options.CurrentValue.RetentionDays);
        var total = 0;
        while (true)
        {
            int expired;
            await using (var scope = scopes.CreateAsyncScope())
            {
                expired = await scope.ServiceProvider.GetRequiredService<RunStore>().ExpireContentAsync(finishedBefore, now, BatchSize, cancellationToken);
            }

            total += expired;
            if (expired < BatchSize)
            {
                break;
            }
        }

        if (total > 0)
        {
            RunRetentionLog.Expired(logger, total, options.CurrentValue.RetentionDays);
        }

        return total;
    }
}

internal static partial class RunRetentionLog
{
    [LoggerMessage(EventId = 4120, Level = LogLevel.Information, Message = "Retention: removed the content of {Count} batch run(s) finished more than {Days} day(s) ago")]
    public static partial void Expired(ILogger logger, int count, int days);

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Retention purge failed; trying again at the next interval")]
    public static partial void PurgeFailed(ILogger logger, Exception exception);
}
