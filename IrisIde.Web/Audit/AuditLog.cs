namespace IrisIde.Web.Audit;

internal static partial class AuditLog
{
    [LoggerMessage(EventId = 6700, Level = LogLevel.Warning, Message = "Audit log queue full (capacity {Capacity}): an entry was dropped; {Dropped} dropped since start")]
    public static partial void EntriesDropped(ILogger logger, long dropped, int capacity);

    [LoggerMessage(EventId = 6701, Level = LogLevel.Error, Message = "Audit log: {Count} entries could not be written to the database and are lost")]
    public static partial void WriteFailed(ILogger logger, int count, Exception exception);

    [LoggerMessage(EventId = 6702, Level = LogLevel.Warning, Message = "Audit log: stopping with {Count} entries still queued; they are lost")]
    public static partial void DrainCutShort(ILogger logger, int count);

    [LoggerMessage(EventId = 6703, Level = LogLevel.Information, Message = "Audit log retention: deleted {Count} entries older than {Days} day(s)")]
    public static partial void Purged(ILogger logger, int count, int days);

    [LoggerMessage(EventId = 6704, Level = LogLevel.Error, Message = "Audit log retention purge failed; trying again at the next interval")]
    public static partial void PurgeFailed(ILogger logger, Exception exception);
}
