using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        return services;
    }

    /// <summary>The job runner side of the bus: whichever host runs jobs (web app embedded, or a worker) adds this.</summary>
    public static IBusRegistrationConfigurator AddRunConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<RunRequestedConsumer, RunRequestedConsumerDefinition>();
        return bus;
    }
}
