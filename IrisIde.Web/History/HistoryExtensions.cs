using IrisIde.Execution.Sessions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

public static class HistoryExtensions
{
    /// <summary>
    /// The run history: the recording wrapper around the session host, the queue and its background writer, the
    /// retention purge, and what the runs API reads with. Needs the database and a session host registered by a
    /// factory (<c>AddIrisExecution</c>); register before <c>AddCourses</c>, so the course rules wrap the recording
    /// and the recording sees the course and limits a run got.
    /// </summary>
    public static IServiceCollection AddRunHistory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HistoryOptions>()
            .Bind(configuration.GetSection(HistoryOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HistoryOptions>, HistoryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RunHistoryQueue>();
        services.TryAddSingleton<LiveRuns>();
        services.TryAddSingleton<LiveWatchPolicy>();
        services.TryAddSingleton<LiveWatchStreams>();
        services.TryAddSingleton<LiveRunEnding>();
        services.AddHostedService<LiveWatchNotifier>();
        services.TryAddSingleton<RunHistoryWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<RunHistoryWriter>());
        services.TryAddSingleton<HistoryRetentionPurge>();
        services.AddHostedService(provider => provider.GetRequiredService<HistoryRetentionPurge>());
        services.TryAddScoped<RunVisibility>();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, RunHistoryJsonContext.Default));

        // Without the wrapper the hub and /ws would run unrecorded: no silent skip.
        if (services.LastOrDefault(d => d.ServiceType == typeof(ISessionHost)) is not { ImplementationFactory: { } factory } registered)
        {
            throw new InvalidOperationException("AddRunHistory needs the session host registered first, by a factory (AddIrisExecution's backend selection)");
        }

        services.Remove(registered);
        services.AddSingleton<ISessionHost>(provider => new RecordingSessionHost(
            (ISessionHost)factory(provider),
            provider.GetRequiredService<RunHistoryQueue>(),
            provider.GetRequiredService<LiveRuns>(),
            provider.GetRequiredService<IOptions<HistoryOptions>>(),
            provider.GetRequiredService<TimeProvider>(),
            provider.GetRequiredService<ILogger<RecordingSessionHost>>()));
        return services;
    }
}
