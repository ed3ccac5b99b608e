using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Docker;

internal static partial class DockerSessionLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Debug, Message = "Docker runner {RunnerId} (container {ContainerId}) ready after {ElapsedMs} ms")]
    public static partial void RunnerReady(ILogger logger, string runnerId, string containerId, long elapsedMs);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Warning, Message = "Docker: removing {What} failed: {Reason}")]
    public static partial void RemoveFailed(ILogger logger, string what, string reason);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "Docker reaper: removing runner container {ContainerId} (runner {RunnerId}): {Why}")]
    public static partial void Reaping(ILogger logger, string containerId, string runnerId, string why);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Warning, Message = "Docker reaper pass failed: {Reason}")]
    public static partial void ReaperFailed(ILogger logger, string reason);
}
