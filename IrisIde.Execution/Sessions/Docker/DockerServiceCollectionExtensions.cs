using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sandboxing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

public static class DockerServiceCollectionExtensions
{
    /// <summary>The Docker engine client (<c>Iris:Docker</c>), shared by the Docker session host and sandbox.</summary>
    public static IServiceCollection AddDockerEngine(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DockerOptions>().Bind(configuration.GetSection(DockerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerOptions>, DockerOptionsValidator>());
        services.TryAddSingleton<DockerEngine>();
        return services;
    }

    /// <summary>
    /// <c>Iris:Sandbox:Kind=Docker</c>: each step of a run in a fresh container (<c>Iris:Sandbox:Docker</c>), with the
    /// run capacity admission sizes its budgets from.
    /// </summary>
    public static IServiceCollection AddDockerSandbox(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddDockerEngine(configuration);
        services.AddRunCapacity();
        services.AddOptions<Sandboxing.Docker.DockerSandboxOptions>().Bind(configuration.GetSection(Sandboxing.Docker.DockerSandboxOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<Sandboxing.Docker.DockerSandboxOptions>, Sandboxing.Docker.DockerSandboxOptionsValidator>());
        services.TryAddSingleton<Sandboxing.Docker.DockerSandbox>();
        services.TryAddSingleton<Sandboxing.ISandbox>(provider => provider.GetRequiredService<Sandboxing.Docker.DockerSandbox>());
        return services;
    }

    /// <summary>
    /// <c>Iris:Sessions:Host=Docker</c>: a runner container per session (<c>Iris:Sessions:Docker</c>), its pool
    /// and the reaper. Returns the host's registration for the session-host selection.
    /// </summary>
    internal static IServiceCollection AddDockerSessions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddDockerEngine(configuration);
        services.AddOptions<DockerRunnerOptions>().Bind(configuration.GetSection(DockerRunnerOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DockerRunnerOptions>, DockerRunnerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<DockerReplica>();
        services.TryAddSingleton<DockerRunnerFactory>();
        services.TryAddSingleton<DockerRunnerPool>();
        services.TryAddSingleton<DockerRunnerReaper>();
        services.AddHostedService(provider => provider.GetRequiredService<DockerRunnerReaper>());
        services.TryAddSingleton(provider => new DockerSessionHost(
            provider.GetRequiredService<DockerRunnerPool>(),
            provider.GetRequiredService<Languages.LanguageCatalog>(),
            new RunnerProtocolClientOptions(),
            provider.GetRequiredService<Microsoft.Extensions.Logging.ILoggerFactory>()));
        return services;
    }
}
