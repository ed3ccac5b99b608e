namespace IrisIde.Web.History;

internal static partial class HistoryLog
{
    [LoggerMessage(EventId = 6300, Level = LogLevel.Warning, Message = "Run history: storing {Count} item(s) failed (attempt {Attempt}); retrying")]
    public static partial void WriteFailed(ILogger logger, int count, int attempt, Exception exception);

    [LoggerMessage(EventId = 6301, Level = LogLevel.Error, Message = "Run history: gave up {Count} transcript chunk(s) after {Attempts} failed attempts; their runs are marked incomplete")]
    public static partial void ChunksDropped(ILogger logger, int count, int attempts);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Warning, Message = "Run history: the queue is full; run {RunId}'s transcript is incomplete")]
    public static partial void QueueOverflow(ILogger logger, Guid runId);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Warning, Message = "Run history: {Count} item(s) were still queued at shutdown and are lost")]
    public static partial void DrainCutShort(ILogger logger, int count);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Run history: recording run {RunId} failed; the run goes on unrecorded")]
    public static partial void RecordingFailed(ILogger logger, Guid runId, Exception exception);

    [LoggerMessage(EventId = 6310, Level = LogLevel.Information, Message = "Run history retention: removed the transcripts and files of {Count} run(s)")]
    public static partial void Purged(ILogger logger, int count);

    [LoggerMessage(EventId = 6311, Level = LogLevel.Error, Message = "Run history retention purge failed; trying again at the next interval")]
    public static partial void PurgeFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 6320, Level = LogLevel.Information, Message = "Live watch: connection {ConnectionId} is watching run {RunId}")]
    public static partial void WatchStarted(ILogger logger, string connectionId, Guid runId);

    [LoggerMessage(EventId = 6321, Level = LogLevel.Warning, Message = "Live watch: connection {ConnectionId} asked to watch a run it may not watch, or one that is not going")]
    public static partial void WatchRefused(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 6323, Level = LogLevel.Warning, Message = "Live watch: user {UserId} already watches {Count} runs; connection {ConnectionId} was refused another")]
    public static partial void WatchesCapped(ILogger logger, string userId, int count, string connectionId);

    [LoggerMessage(EventId = 6322, Level = LogLevel.Warning, Message = "Live watch: telling the owner of run {RunId} who is watching failed")]
    public static partial void WatchNoticeFailed(ILogger logger, Guid runId, Exception exception);
}
