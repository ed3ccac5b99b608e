using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Protocol;

public static class RunnerProtocolServiceCollectionExtensions
{
    /// <summary>The iris-runner WebSocket protocol handler and its options (<c>Iris:Runner</c>).</summary>
    public static IrisExecutionBuilder AddRunnerProtocol(this IrisExecutionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddOptions<RunnerProtocolOptions>()
            .Bind(builder.Configuration.GetSection(RunnerProtocolOptions.SectionName))
            .ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RunnerProtocolOptions>, RunnerProtocolOptionsValidator>());
        builder.Services.TryAddSingleton<RunnerProtocolHandler>();
        return builder;
    }
}
