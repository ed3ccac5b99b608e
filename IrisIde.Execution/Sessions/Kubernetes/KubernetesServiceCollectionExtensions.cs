using IrisIde.Execution.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

internal static class KubernetesServiceCollectionExtensions
{
    /// <summary>
    /// <c>Iris:Sessions:Host=Kubernetes</c>: a runner pod per session (<c>Iris:Sessions:Kubernetes</c>) through the API
    /// server (<c>Iris:Kubernetes</c>), its pool and the reaper.
    /// </summary>
    public static IServiceCollection AddKubernetesSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KubernetesApiOptions>().Bind(configuration.GetSection(KubernetesApiOptions.SectionName));
        services.AddOptions<KubernetesRunnerOptions>().Bind(configuration.GetSection(KubernetesRunnerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KubernetesRunnerOptions>, KubernetesRunnerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<KubernetesApi>();
        services.TryAddSingleton<KubernetesReplica>();
        services.TryAddSingleton<KubernetesRunnerFactory>();
        services.TryAddSingleton<KubernetesRunnerPool>();
        services.TryAddSingleton<KubernetesRunnerReaper>();
        services.AddHostedService(provider => provider.GetRequiredService<KubernetesRunnerReaper>());
        services.TryAddSingleton(provider => new KubernetesSessionHost(
            provider.GetRequiredService<KubernetesRunnerPool>(),
            provider.GetRequiredService<Languages.LanguageCatalog>(),
            new RunnerProtocolClientOptions(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        return services;
    }
}
