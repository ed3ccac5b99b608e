using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Web.Persistence;
using MassTransit;

namespace IrisIde.Web.Batch;

/// <summary>Marks a queued run as running when a worker picks it up.</summary>
public sealed class RunStartedConsumer(RunStore store) : IConsumer<RunStarted>
{
    public Task Consume(ConsumeContext<RunStarted> context) => store.MarkStartedAsync(context.Message, context.CancellationToken);
}

/// <summary>
/// Stores a job's result, wakes the requests waiting for it and, when the run has a callback, the callback
/// dispatcher. A second completion of the same job (a redelivery) changes nothing, so its callback is not
/// sent again.
/// </summary>
public sealed class RunCompletedConsumer(RunStore store, RunEndWaiters waiters, RunCallbackSignal callbacks, ILogger<RunCompletedConsumer> logger) : IConsumer<RunCompleted>
{
    public async Task Consume(ConsumeContext<RunCompleted> context)
    {
        var stored = await store.StoreResultAsync(context.Message, context.CancellationToken);
        if (stored == StoredResult.AlreadyEnded)
        {
            BatchApiLog.DuplicateCompletion(logger, context.Message.JobId);
            return;
        }

        waiters.Notify(context.Message.JobId);
        if (stored == StoredResult.StoredWithCallback)
        {
            callbacks.Notify();
        }
    }
}

/// <summary>
/// A job that faulted (a poison job at once, a server failure after its retries) would otherwise stay
/// queued forever: it ends as <c>failed</c>, with the refusal as the reason for a poison job and
/// "internal error: ..." for anything else. The job itself is in the <c>run-requested_error</c> queue.
/// </summary>
public sealed class RunRequestedFaultConsumer(RunStore store, RunEndWaiters waiters, RunCallbackSignal callbacks, TimeProvider timeProvider) : IConsumer<Fault<RunRequested>>
{
    public async Task Consume(ConsumeContext<Fault<RunRequested>> context)
    {
        var job = context.Message.Message;
        var exception = context.Message.Exceptions.FirstOrDefault();
        var reason = InvalidJobException.IsPoison(exception?.ExceptionType)
            ? exception!.Message
            : $"internal error: {exception?.Message ?? "the job failed"}";
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var worker = context.Message.Host?.MachineName is { } machine ? $"{machine}:{context.Message.Host.ProcessId}" : "unknown";
        var stored = await store.StoreResultAsync(RunCompleted.Failure(job.JobId, reason, worker, now, now), context.CancellationToken);
        if (stored != StoredResult.AlreadyEnded)
        {
            waiters.Notify(job.JobId);
        }

        if (stored == StoredResult.StoredWithCallback)
        {
            callbacks.Notify();
        }
    }
}

internal static partial class BatchApiLog
{
    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "Batch job {JobId}: a second completion was ignored")]
    public static partial void DuplicateCompletion(ILogger logger, Guid jobId);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Batch job {JobId} queued: {Language}, {Files} file(s)")]
    public static partial void JobQueued(ILogger logger, Guid jobId, string language, int files);
}
