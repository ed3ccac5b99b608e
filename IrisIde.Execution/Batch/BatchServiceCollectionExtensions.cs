using IrisIde.Execution.Admission;
using IrisIde.Execution.Sandboxing;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

public static class BatchServiceCollectionExtensions
{
    /// <summary>Binds and validates <see cref="BatchJobOptions"/> (<c>Iris:Batch</c>).</summary>
    public static IServiceCollection AddBatchOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BatchJobOptions>()
            .Bind(configuration.GetSection(BatchJobOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BatchJobOptions>, BatchOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BatchJobOptions>, BatchCapacityValidator>());
        services.AddRunCapacity();
        services.TryAddSingleton<BatchMemoryBudget>();
        services.TryAddSingleton<BatchJobsInFlight>();
        return services;
    }

    /// <summary>
    /// How the bus starts and stops in whichever host runs it: jobs are accepted only once the bus is up,
    /// and on shutdown running jobs get <see cref="BatchJobOptions.DrainSeconds"/> to finish before they are
    /// cancelled (and go back to the queue) — with a host shutdown budget that covers that drain.
    /// </summary>
    public static IServiceCollection AddBatchBusLifetime(this IServiceCollection services)
    {
        services.AddOptions<MassTransitHostOptions>().Configure<IOptions<BatchJobOptions>>((o, batch) =>
        {
            o.WaitUntilStarted = true;
            o.StopTimeout = TimeSpan.FromSeconds(batch.Value.DrainSeconds);
            o.ConsumerStopTimeout = TimeSpan.FromSeconds(batch.Value.DrainSeconds);
        });
        services.AddOptions<HostOptions>().Configure<IOptions<BatchJobOptions>>((o, batch) =>
            o.ShutdownTimeout = TimeSpan.FromSeconds(batch.Value.DrainSeconds + 15));
        return services;
    }

    /// <summary>
    /// The bus's liveness check (<see cref="ReceiveEndpointHealthCheck"/>), fed by the endpoints' own events.
    /// Hosts serve it on their health endpoint; MassTransit's own bus check (tag <see cref="BusReadinessTag"/>)
    /// turns Unhealthy the moment a broker blinks, so it is for readiness, never for liveness.
    /// </summary>
    public static IServiceCollection AddBatchBusHealth(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ReceiveEndpointHealthCheck>();
        services.AddReceiveEndpointObserver(provider => provider.GetRequiredService<ReceiveEndpointHealthCheck>());
        services.AddHealthChecks().AddCheck<ReceiveEndpointHealthCheck>(ReceiveEndpointHealthCheck.Name);
        return services;
    }

    /// <summary>The tag MassTransit gives its own bus health check.</summary>
    public const string BusReadinessTag = "masstransit";

    /// <summary>
    /// The tag of a host's readiness checks (its dependencies: database, session backend, sandbox self-test),
    /// served on a readiness endpoint and kept off liveness ones.
    /// </summary>
    public const string ReadinessTag = "ready";

    /// <summary>The job runner side of the bus: whichever host runs jobs (web app embedded, or a worker) adds this.</summary>
    public static IBusRegistrationConfigurator AddRunConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RunRequestedConsumer, RunRequestedConsumerDefinition>();
        return bus;
    }
}
