using IrisIde.Execution.Sessions.Runners;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>A runner pod that is ready: reached at its pod IP on the template's port, with its own access token.</summary>
internal sealed class KubernetesRunner(string podName, string runnerId, string podIp, int port, string accessToken, DateTimeOffset startedAt)
    : RemoteRunner(podName, runnerId, new UriBuilder(Uri.UriSchemeHttp, podIp, port, "/").Uri, accessToken, startedAt)
{
    public string PodName => Key;
}
