using System.Text;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

/// <summary>
/// Runs one batch job through the <see cref="RunPipeline"/> and publishes its <see cref="RunCompleted"/>.
/// A job the pipeline refuses (unknown language, too large, ...) is not an error of the consumer: it
/// completes as <c>failed</c> with the reason at once, so it is never redelivered. Anything else that
/// throws is retried a couple of times by the definition, then faults to the error queue.
/// </summary>
public sealed class RunRequestedConsumer(
    RunPipeline pipeline,
    IOptions<BatchJobOptions> options,
    TimeProvider timeProvider,
    ILogger<RunRequestedConsumer> logger) : IConsumer<RunRequested>
{
    public async Task Consume(ConsumeContext<RunRequested> context)
    {
        var job = context.Message;
        var workerId = options.Value.ResolveWorkerId();
        var started = timeProvider.GetUtcNow().UtcDateTime;
        await context.Publish(new RunStarted(job.JobId, workerId, started), context.CancellationToken);

        var request = new RunRequest
        {
            Language = job.Language,
            Files = [.. (job.Files ?? []).Select(f => new SourceFile(f.Name ?? string.Empty, f.Content ?? string.Empty))],
            Stdin = job.Stdin,
            Mode = RunMode.Batch,
            Limits = job.Limits is { } l
                ? new RunLimitOverrides { WallSeconds = l.WallSeconds, CpuSeconds = l.CpuSeconds, MemoryBytes = l.MemoryBytes, OutputBytes = l.OutputBytes }
                : null,
        };

        RunCompleted completed;
        try
        {
            var events = await pipeline.RunToEndAsync(request, context.CancellationToken);
            completed = ToCompleted(job.JobId, events, workerId, started);
        }
        catch (RunValidationException e)
        {
            BatchLog.JobRefused(logger, job.JobId, e.Error);
            completed = Failed(job.JobId, e.Message, workerId, started);
        }

        await context.Publish(completed, context.CancellationToken);
        BatchLog.JobCompleted(logger, job.JobId, completed.Status, completed.Verdict);
    }

    private RunCompleted ToCompleted(Guid jobId, IReadOnlyList<RunEvent> events, string workerId, DateTime started)
    {
        var cap = options.Value.MaxStoredOutputChars;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        string? compileOutput = null;
        RunOutcome? outcome = null;
        foreach (var e in events)
        {
            switch (e)
            {
                case CompileFinished compile:
                    compileOutput = Cap(compile.Output, cap);
                    break;
                case OutputChunk { Stream: OutputStream.Stdout } chunk:
                    Append(stdout, chunk.Text, cap);
                    break;
                case OutputChunk chunk:
                    Append(stderr, chunk.Text, cap);
                    break;
                case RunExited exited:
                    outcome = exited.Outcome;
                    break;
            }
        }

        var finished = timeProvider.GetUtcNow().UtcDateTime;
        if (outcome is null)
        {
            return Failed(jobId, "the run ended without a result", workerId, started);
        }

        var failed = outcome.Verdict == Verdict.InternalError;
        return new RunCompleted(
            jobId,
            failed ? RunCompletedStatus.Failed : RunCompletedStatus.Completed,
            outcome.Verdict.ToWireName(),
            failed ? outcome.Message ?? "internal error" : null,
            compileOutput,
            stdout.ToString(),
            stderr.ToString(),
            outcome.ExitCode,
            outcome.Signal,
            (long)outcome.WallTime.TotalMilliseconds,
            (long)outcome.CpuTime.TotalMilliseconds,
            outcome.PeakMemoryBytes,
            workerId,
            started,
            finished);
    }

    private RunCompleted Failed(Guid jobId, string reason, string workerId, DateTime started) =>
        new(jobId, RunCompletedStatus.Failed, null, reason, null, string.Empty, string.Empty, null, null, 0, 0, 0, workerId, started, timeProvider.GetUtcNow().UtcDateTime);

    private static void Append(StringBuilder builder, string text, int cap)
    {
        var room = cap - builder.Length;
        if (room > 0)
        {
            builder.Append(text.AsSpan(0, Math.Min(room, text.Length)));
        }
    }

    private static string Cap(string text, int cap) => text.Length <= cap ? text : text[..cap];
}

/// <summary>Concurrency, retry and endpoint settings of <see cref="RunRequestedConsumer"/>.</summary>
public sealed class RunRequestedConsumerDefinition : ConsumerDefinition<RunRequestedConsumer>
{
    private readonly BatchJobOptions _options;

    public RunRequestedConsumerDefinition(IOptions<BatchJobOptions> options)
    {
        _options = options.Value;
        ConcurrentMessageLimit = _options.ConcurrentJobs;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RunRequestedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        // Only failures inside the server get here (refused jobs complete as failed without throwing);
        // a couple of immediate tries cover a transient one, then the job faults to the error queue.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Immediate(_options.ImmediateRetries);
            r.Ignore<RunValidationException>();
        });
    }
}

internal static partial class BatchLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Batch job {JobId} refused by validation: {Error}")]
    public static partial void JobRefused(ILogger logger, Guid jobId, RunRequestError error);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Batch job {JobId} ended: {Status}, verdict {Verdict}")]
    public static partial void JobCompleted(ILogger logger, Guid jobId, string status, string? verdict);
}
