using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Runners;

internal static partial class RunnerSessionLog
{
    [LoggerMessage(EventId = 2150, Level = LogLevel.Information, Message = "Session {SessionId} started on {Backend} runner {RunnerId}")]
    public static partial void SessionStarted(ILogger logger, Guid sessionId, string backend, string runnerId);

    [LoggerMessage(EventId = 2151, Level = LogLevel.Warning, Message = "The {Backend} runner pool could not start a runner (retrying in a while): {Reason}")]
    public static partial void PoolStartFailed(ILogger logger, string backend, string reason);
}
