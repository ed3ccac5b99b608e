using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Telemetry;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution;

/// <summary>Returned by <see cref="ExecutionServiceCollectionExtensions.AddIrisExecution"/> so hosts can chain the sandbox choice.</summary>
public sealed class IrisExecutionBuilder(IServiceCollection services, IConfiguration configuration)
{
    public IServiceCollection Services { get; } = services;

    public IConfiguration Configuration { get; } = configuration;

    /// <summary>Runs every step in a local bubblewrap sandbox with a per-run cgroup (the embedded default).</summary>
    public IrisExecutionBuilder AddBubblewrapSandbox()
    {
        Services.AddBubblewrapSandbox();
        return this;
    }
}

public static class ExecutionServiceCollectionExtensions
{
    /// <summary>
    /// The language catalogue, its availability probe and the run pipeline. A sandbox must be added too
    /// (<c>.AddBubblewrapSandbox()</c>, ...). With <paramref name="probeLanguagesAtStart"/> every language is probed
    /// while the host starts; without it (a runner, which serves one session) each is probed when first asked about.
    /// </summary>
    public static IrisExecutionBuilder AddIrisExecution(this IServiceCollection services, IConfiguration configuration, bool probeLanguagesAtStart = true)
    {
        // Options bind through IConfiguration; hosts register it already, plain service collections may not.
        services.TryAddSingleton(configuration);
        services.AddOptions<ExecutionOptions>()
            .Bind(configuration.GetSection(ExecutionOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExecutionOptions>, ExecutionOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => LanguageCatalog.LoadEmbedded());
        services.TryAddSingleton<LanguageAvailability>();
        if (probeLanguagesAtStart)
        {
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LanguageProbeHostedService>());
        }

        services.TryAddSingleton<WorkspaceArea>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, WorkspaceSweeper>());
        services.TryAddSingleton<RunPipeline>();
        services.AddMetrics();
        services.TryAddSingleton<IrisMetrics>();
        return new IrisExecutionBuilder(services, configuration);
    }
}
