using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// <c>Iris:Sessions:Host=Kubernetes</c>: every session on a fresh runner pod of its own, never reused, reached at the
/// pod's address with the pod's access token, deleted when the session ends.
/// </summary>
internal sealed class KubernetesSessionHost(
    KubernetesRunnerPool pool,
    LanguageCatalog catalog,
    RunnerProtocolClientOptions clientOptions,
    ILoggerFactory loggerFactory) : RunnerSessionHost<KubernetesRunner>(HostName, pool, catalog, clientOptions, loggerFactory)
{
    public const string HostName = "kubernetes";
}

/// <summary>Runner pods started ahead, sized by <see cref="KubernetesRunnerOptions"/>.</summary>
internal sealed class KubernetesRunnerPool(
    KubernetesRunnerFactory factory,
    IOptions<KubernetesRunnerOptions> options,
    IOptions<RunnerProtocolOptions> protocol,
    TimeProvider time,
    ILogger<KubernetesRunnerPool> logger)
    : RunnerPool<KubernetesRunner>("Kubernetes", factory, options.Value.PoolLimits(protocol.Value), time, logger);
