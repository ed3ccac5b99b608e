using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Capacity;
using IrisIde.Execution.Sandboxing.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing;

public static class SandboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BubblewrapSandbox"/> as the <see cref="ISandbox"/> (unless the host already
    /// registered one), with <see cref="BubblewrapOptions"/> bound from <c>Iris:Sandbox</c> and
    /// validated at start-up, and the <see cref="RunCapacity"/> its runs share.
    /// </summary>
    public static IServiceCollection AddBubblewrapSandbox(this IServiceCollection services, Action<BubblewrapOptions>? configure = null)
    {
        services.AddRunCapacity();
        var options = services.AddOptions<BubblewrapOptions>().BindConfiguration(BubblewrapOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BubblewrapOptions>, BubblewrapOptionsValidator>());
        services.TryAddSingleton<BubblewrapSandbox>();
        services.TryAddSingleton<ISandbox>(provider => provider.GetRequiredService<BubblewrapSandbox>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BubblewrapSandboxStartup>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="ProcessSandbox"/> as the <see cref="ISandbox"/> (unless one is registered).
    /// Only for the runner inside a pod, where the pod is the isolation boundary.
    /// </summary>
    public static IServiceCollection AddProcessSandbox(this IServiceCollection services, Action<ProcessSandboxOptions>? configure = null)
    {
        services.AddRunCapacity();
        var options = services.AddOptions<ProcessSandboxOptions>().BindConfiguration(ProcessSandboxOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProcessSandboxOptions>, ProcessSandboxOptionsValidator>());
        services.TryAddSingleton<ProcessSandbox>();
        services.TryAddSingleton<ISandbox>(provider => provider.GetRequiredService<ProcessSandbox>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="RunCapacity"/>: what all runs together may use, from <c>Iris:Sandbox:Capacity</c>
    /// or derived from the host, validated at start-up. The bubblewrap sandbox enforces it with the
    /// runs' parent cgroup; admission reads it to size its budgets.
    /// </summary>
    public static IServiceCollection AddRunCapacity(this IServiceCollection services)
    {
        services.AddOptions<RunCapacityOptions>().BindConfiguration(RunCapacityOptions.SectionName).ValidateOnStart();
        services.TryAddSingleton(_ => HostResources.Detect());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RunCapacityOptions>, RunCapacityOptionsValidator>());
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<RunCapacityOptions>>().Value;
            var (capacity, failures) = RunCapacity.Resolve(options, provider.GetRequiredService<HostResources>());
            return capacity ?? throw new OptionsValidationException(RunCapacityOptions.SectionName, typeof(RunCapacityOptions), failures);
        });
        return services;
    }
}
