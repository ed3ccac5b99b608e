using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Kubernetes;

internal static partial class KubernetesSessionLog
{
    [LoggerMessage(EventId = 7201, Level = LogLevel.Debug, Message = "Kubernetes runner {RunnerId} (pod {PodName}) ready after {ElapsedMs} ms")]
    public static partial void RunnerReady(ILogger logger, string runnerId, string podName, long elapsedMs);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Kubernetes: deleting runner pod {PodName} failed: {Reason}")]
    public static partial void DeleteFailed(ILogger logger, string podName, string reason);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Information, Message = "Kubernetes reaper: deleting runner pod {PodName}: {Why}")]
    public static partial void Reaping(ILogger logger, string podName, string why);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Warning, Message = "Kubernetes reaper pass failed: {Reason}")]
    public static partial void ReaperFailed(ILogger logger, string reason);
}
