using IrisIde.Execution.Sandboxing;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Protocol;

/// <summary>Runner client log events (3100–3199). Never logs source, stdin or output: only ids, addresses and reasons.</summary>
internal static partial class RunnerProtocolClientLog
{
    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Runner {Runner} accepted run {RunId} ({LanguageId}, extensions: {Extensions})")]
    public static partial void RunAccepted(ILogger logger, Uri runner, Guid runId, string languageId, bool extensions);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Runner {Runner} refused a run ({Reason}): {Error}")]
    public static partial void RunRefused(ILogger logger, Uri runner, string reason, string error);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "Runner {Runner} could not be reached: {Why}")]
    public static partial void RunnerUnreachable(ILogger logger, Uri runner, string why);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Warning, Message = "Run {RunId} on runner {Runner} ended without an exit message: {Why}")]
    public static partial void ConnectionLost(ILogger logger, Guid runId, Uri runner, string why);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Debug, Message = "Run {RunId}: the runner reported an error: {Error}")]
    public static partial void RunnerError(ILogger logger, Guid runId, string error);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Debug, Message = "Run {RunId}: the runner sent a message of unknown type ({Length} characters); ignored")]
    public static partial void UnknownMessage(ILogger logger, Guid runId, int length);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Run {RunId} ended with {Verdict}")]
    public static partial void RunEnded(ILogger logger, Guid runId, Verdict verdict);

    [LoggerMessage(EventId = 3108, Level = LogLevel.Warning, Message = "Run {RunId}: runner {Runner} did not confirm the stop within {Seconds} s; dropping the connection")]
    public static partial void StopNotConfirmed(ILogger logger, Guid runId, Uri runner, double seconds);

    [LoggerMessage(EventId = 3109, Level = LogLevel.Warning, Message = "Runner {Runner} did not list its languages: {Why}")]
    public static partial void LanguagesUnavailable(ILogger logger, Uri runner, string why);
}
