using IrisIde.Execution.Sandboxing;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Protocol;

/// <summary>Protocol log events (3001–3099). Never logs source, stdin or output: only ids, sizes and reasons.</summary>
internal static partial class RunnerProtocolLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Runner connection {ConnectionId} opened")]
    public static partial void ConnectionOpened(ILogger logger, Guid connectionId);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Runner connection {ConnectionId} started run {RunId} ({LanguageId}, custom commands: {CustomCommands})")]
    public static partial void RunStarted(ILogger logger, Guid connectionId, Guid runId, string languageId, bool customCommands);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Runner connection {ConnectionId} refused a code message: {Error}")]
    public static partial void RunRefused(ILogger logger, Guid connectionId, Runs.RunRequestError error);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "Runner connection {ConnectionId}: run {RunId} ended with {Verdict}, exit {ReturnCode}")]
    public static partial void RunEnded(ILogger logger, Guid connectionId, Guid runId, Verdict verdict, int returnCode);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "Runner connection {ConnectionId} closed by the server: {CloseStatus} ({Reason})")]
    public static partial void ClosedByServer(ILogger logger, Guid connectionId, System.Net.WebSockets.WebSocketCloseStatus closeStatus, string reason);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Runner connection {ConnectionId} went away while run {RunId} was active; stopping it")]
    public static partial void ClientWentAway(ILogger logger, Guid connectionId, Guid runId);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "Runner connection {ConnectionId} sent a message of unknown type ({Length} characters)")]
    public static partial void UnknownMessageType(ILogger logger, Guid connectionId, int length);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "Runner connection {ConnectionId}: run {RunId} reached the session cap of {Seconds} s")]
    public static partial void SessionCapReached(ILogger logger, Guid connectionId, Guid runId, double seconds);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Error, Message = "Runner connection {ConnectionId} failed")]
    public static partial void ConnectionFailed(ILogger logger, Guid connectionId, Exception exception);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug, Message = "Runner connection {ConnectionId} ended")]
    public static partial void ConnectionEnded(ILogger logger, Guid connectionId);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information, Message = "Runner connection {ConnectionId}: admission refused the run ({Refusal})")]
    public static partial void SessionRefused(ILogger logger, Guid connectionId, Admission.AdmissionRefusal refusal);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "Runner connection {ConnectionId}: no runner could be started for the run: {Reason}")]
    public static partial void RunnerNotStarted(ILogger logger, Guid connectionId, string reason);
}
