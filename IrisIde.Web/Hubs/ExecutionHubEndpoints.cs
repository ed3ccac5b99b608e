using IrisIde.Web.Runner;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Hubs;

public static class ExecutionHubEndpoints
{
    public const string Path = "/hubs/execution";

    /// <summary>
    /// SignalR with the execution hub's payloads source-generated, its own limits and timeouts
    /// (<c>Iris:Ide</c>), and the anonymous-run switch it shares with <c>/ws</c> (<c>Iris:Auth</c>).
    /// </summary>
    public static IServiceCollection AddExecutionHub(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ExecutionHubOptions>()
            .Bind(configuration.GetSection(ExecutionHubOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ExecutionHubOptions>, ExecutionHubOptionsValidator>());
        services.AddRunnerAccess(configuration);
        services.TryAddSingleton<ExecutionHubRuns>();

        services.AddSignalR()
            .AddJsonProtocol(json => json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ExecutionHubJsonContext.Default))
            // Registers the per-hub options that inherit the global ones; ours are applied after them.
            .AddHubOptions<ExecutionHub>(_ => { });
        services.AddSingleton<IConfigureOptions<HubOptions<ExecutionHub>>, ConfigureExecutionHubOptions>();
        return services;
    }

    public static HubEndpointConventionBuilder MapExecutionHub(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHub<ExecutionHub>(Path);

    /// <summary>
    /// A silent drop (a laptop lid, a lost network) is noticed after <c>ClientTimeoutSeconds</c> without a
    /// message or ping from the client; the connection then closes and its runs stop. The default (8 s)
    /// keeps "a closed tab stops its run within 10 s" true even when no close frame arrives.
    /// </summary>
    private sealed class ConfigureExecutionHubOptions(IOptions<ExecutionHubOptions> options) : IConfigureOptions<HubOptions<ExecutionHub>>
    {
        public void Configure(HubOptions<ExecutionHub> hub)
        {
            var ide = options.Value;
            hub.MaximumReceiveMessageSize = ide.MaxMessageBytes;
            hub.KeepAliveInterval = TimeSpan.FromSeconds(ide.KeepAliveSeconds);
            hub.ClientTimeoutInterval = TimeSpan.FromSeconds(ide.ClientTimeoutSeconds);
        }
    }
}
