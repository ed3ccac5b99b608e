using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Processes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing;

public static class SandboxServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="BubblewrapSandbox"/> as the <see cref="ISandbox"/> (unless the host already
    /// registered one), with <see cref="BubblewrapOptions"/> bound from <c>Iris:Sandbox</c> and
    /// validated at start-up.
    /// </summary>
    public static IServiceCollection AddBubblewrapSandbox(this IServiceCollection services, Action<BubblewrapOptions>? configure = null)
    {
        var options = services.AddOptions<BubblewrapOptions>().BindConfiguration(BubblewrapOptions.SectionName).ValidateOnStart();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<BubblewrapOptions>, BubblewrapOptionsValidator>());
        services.TryAddSingleton<BubblewrapSandbox>();
        services.TryAddSingleton<ISandbox>(provider => provider.GetRequiredService<BubblewrapSandbox>());
        return services;
    }

    /// <summary>
    /// Registers <see cref="ProcessSandbox"/> as the <see cref="ISandbox"/> (unless one is registered).
    /// Only for the runner inside a pod, where the pod is the isolation boundary.
    /// </summary>
    public static IServiceCollection AddProcessSandbox(this IServiceCollection services, Action<ProcessSandboxOptions>? configure = null)
    {
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
}
