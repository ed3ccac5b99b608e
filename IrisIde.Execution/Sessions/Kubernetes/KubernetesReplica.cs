using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// This web app's name on the runner pods it owns (label <c>iris.dev/replica</c>): its own pod's name, so another
/// replica's reaper can tell it is gone by asking the API server for that pod.
/// </summary>
internal sealed class KubernetesReplica(IOptions<KubernetesRunnerOptions> options)
{
    public string Id { get; } = KubernetesNames.LabelValue(
        options.Value.ReplicaId is { Length: > 0 } configured ? configured : Environment.MachineName);
}
