using IrisIde.Execution.Runs;

namespace IrisIde.Web.Hubs;

/// <summary>Log messages of the execution hub (event ids 4001+). Never source, input or output.</summary>
internal static partial class ExecutionHubLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Hub connection {ConnectionId} started run {RunId} ({LanguageId})")]
    public static partial void RunStarted(ILogger logger, string connectionId, Guid runId, string languageId);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: run refused ({Reason})")]
    public static partial void RunRefused(ILogger logger, string connectionId, RunRequestError reason);

    [LoggerMessage(EventId = 5009, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: run refused, the request has no language")]
    public static partial void NoLanguage(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: run {RunId} streamed to its end ({Verdict})")]
    public static partial void RunStreamEnded(ILogger logger, string connectionId, Guid runId, string verdict);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: stream of run {RunId} ended early (cancelled or disconnected); stopping the run")]
    public static partial void RunAbandoned(ILogger logger, string connectionId, Guid runId);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "Hub connection {ConnectionId}: {Method} for a run it does not own")]
    public static partial void ControlRefused(ILogger logger, string connectionId, string method);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Information, Message = "Hub connection {ConnectionId} closed with {Count} runs going; stopping them")]
    public static partial void ConnectionClosedWithRuns(ILogger logger, string connectionId, int count);

    [LoggerMessage(EventId = 5008, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: anonymous run refused (Iris:Auth:AllowAnonymousRuns is false)")]
    public static partial void AnonymousRefused(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 5010, Level = LogLevel.Information, Message = "Hub connection {ConnectionId}: admission refused the run ({Refusal})")]
    public static partial void AdmissionRefused(ILogger logger, string connectionId, IrisIde.Execution.Admission.AdmissionRefusal refusal);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Warning, Message = "Hub connection {ConnectionId}: no runner could be started for the run: {Reason}")]
    public static partial void RunnerNotStarted(ILogger logger, string connectionId, string reason);
}
