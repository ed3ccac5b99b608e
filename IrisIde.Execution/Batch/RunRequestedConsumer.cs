using System.Text;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

/// <summary>
/// Runs one batch job through the <see cref="RunPipeline"/> and publishes its <see cref="RunCompleted"/>.
/// Returning acknowledges the message, so the result is published (and, on RabbitMQ, confirmed by the
/// broker) before the job leaves the queue: a worker that dies mid-job leaves it to be redelivered.
/// A poison job (no job id or files, unknown language, too large, ...) throws <see cref="InvalidJobException"/>
/// or <see cref="RunValidationException"/>, which the definition never retries: the job moves to the
/// <c>run-requested_error</c> queue and the fault it publishes ends the run as <c>failed</c> with the reason.
/// </summary>
public sealed class RunRequestedConsumer(
    RunPipeline pipeline,
    BatchMemoryBudget memory,
    BatchJobsInFlight inFlight,
    IOptions<BatchJobOptions> options,
    TimeProvider timeProvider,
    IrisMetrics metrics,
    ILogger<RunRequestedConsumer> logger) : IConsumer<RunRequested>
{
    public async Task Consume(ConsumeContext<RunRequested> context)
    {
        var job = context.Message;
        InvalidJobException.ThrowIfMalformed(job);
        using var counted = inFlight.Enter();

        // Waits (still unacknowledged, so a restart loses nothing) until the memory it was granted is free.
        using var grant = await memory.AcquireAsync(memory.WeightOf(job), context.CancellationToken);
        var workerId = options.Value.ResolveWorkerId();
        var started = timeProvider.GetUtcNow().UtcDateTime;
        var request = RunRequestFactory.Batch(job);
        // Measured where the job runs (the web app's own consumer, or a worker, which exports over OTLP); a
        // redelivered job waited (and runs) again and is counted again.
        metrics.JobDequeued(job.Language, started - job.QueuedAtUtc);

        RunCompleted completed;
        using (var over = new CancellationTokenSource())
        {
            var startedNotice = SayStartedAsync(context, new RunStarted(job.JobId, workerId, started), over.Token);
            try
            {
                completed = job.TestCases is { Count: > 0 } cases
                    ? await RunTestCasesAsync(job, request, cases, workerId, started, context.CancellationToken)
                    : ToCompleted(job.JobId, Collect(await pipeline.RunToEndAsync(request, context.CancellationToken)), workerId, started);
            }
            catch (RunValidationException e)
            {
                BatchLog.JobRefused(logger, job.JobId, e.Error);
                throw;
            }
            finally
            {
                // A notice already on its way goes out first: the result never overtakes it.
                await over.CancelAsync();
                await startedNotice;
            }
        }

        await context.Publish(completed, context.CancellationToken);
        metrics.RunEnded(SessionSurface.Batch, job.Language, completed.Verdict ?? Verdict.InternalError.ToWireName(), completed.FinishedAtUtc - completed.StartedAtUtc);
        BatchLog.JobCompleted(logger, job.JobId, completed.Status, completed.Verdict);
    }

    /// <summary>
    /// Publishes <paramref name="notice"/> once the job has run <see cref="BatchJobOptions.StartedNoticeDelayMilliseconds"/>,
    /// unless it is <paramref name="over"/> by then.
    /// </summary>
    private async Task SayStartedAsync(ConsumeContext context, RunStarted notice, CancellationToken over)
    {
        var delay = TimeSpan.FromMilliseconds(options.Value.StartedNoticeDelayMilliseconds);
        if (delay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(delay, timeProvider, over);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }

        await context.Publish(notice, context.CancellationToken);
    }

    /// <summary>
    /// Compiles once and runs the program once per case, each run in a fresh copy of the compiled
    /// workspace with its own stdin and limits. A compile error or an internal failure ends the job at
    /// once; otherwise the job's verdict is <c>accepted</c> when every case is, else the verdict of the
    /// first case that is not, and the job's output and usage are that case's.
    /// </summary>
    private async Task<RunCompleted> RunTestCasesAsync(
        RunRequested job, RunRequest request, IReadOnlyList<BatchTestCase> cases, string workerId, DateTime started, CancellationToken cancellationToken)
    {
        var results = new List<TestCaseResult>(cases.Count);
        RunResultParts? deciding = null;
        string? decidingVerdict = null;
        string? compileOutput = null;
        var i = 0;
        await foreach (var events in pipeline.RunEachAsync(request with { Stdin = null }, [.. cases.Select(c => c.Stdin)], cancellationToken))
        {
            var parts = Collect(events);
            compileOutput ??= parts.CompileOutput;
            if (parts.Outcome is not { } outcome || outcome.Verdict is Verdict.InternalError || (outcome.Stage == RunStage.Compile && outcome.Verdict != Verdict.Ok))
            {
                return ToCompleted(job.JobId, parts, workerId, started);
            }

            var verdict = outcome.Verdict != Verdict.Ok ? outcome.Verdict.ToWireName()
                : OutputMatches(parts.Stdout, cases[i].ExpectedOutput ?? string.Empty, job.Comparison) ? "accepted"
                : "wrong_answer";
            results.Add(new TestCaseResult(
                i, cases[i].Name, verdict, parts.Stdout, parts.Stderr, outcome.ExitCode,
                (long)outcome.WallTime.TotalMilliseconds, (long)outcome.CpuTime.TotalMilliseconds, outcome.PeakMemoryBytes));
            if (verdict != "accepted" && deciding is null)
            {
                deciding = parts;
                decidingVerdict = verdict;
            }

            deciding ??= i == cases.Count - 1 ? parts : null;
            i++;
        }

        if (results.Count != cases.Count || deciding is null)
        {
            return Failed(job.JobId, "the runs ended before every test case had a result", workerId, started);
        }

        // Only the first run compiled; the job reports that compiler output whichever case decided it.
        var last = ToCompleted(job.JobId, deciding with { CompileOutput = compileOutput }, workerId, started);
        return last with { Verdict = decidingVerdict ?? "accepted", TestCases = results };
    }

    internal static bool OutputMatches(string actual, string expected, string? comparison) =>
        comparison == OutputComparison.Whitespace
            ? actual.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).SequenceEqual(expected.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal)
            : string.Equals(actual, expected, StringComparison.Ordinal);

    private sealed record RunResultParts(string? CompileOutput, string Stdout, string Stderr, RunOutcome? Outcome);

    private RunResultParts Collect(IReadOnlyList<RunEvent> events)
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

        return new RunResultParts(compileOutput, stdout.ToString(), stderr.ToString(), outcome);
    }

    private RunCompleted ToCompleted(Guid jobId, RunResultParts parts, string workerId, DateTime started)
    {
        var outcome = parts.Outcome;
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
            parts.CompileOutput,
            parts.Stdout,
            parts.Stderr,
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
        RunCompleted.Failure(jobId, reason, workerId, started, timeProvider.GetUtcNow().UtcDateTime);

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
        EndpointName = BatchTransport.JobQueueName;
    }

    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<RunRequestedConsumer> consumerConfigurator,
        IRegistrationContext context)
    {
        // A poison job fails the same way every time: straight to the error queue. Anything else (a
        // broker that went away while the result was published, a sandbox hiccup) gets a few tries with
        // growing pauses first; a job whose tries all fail faults to the error queue and ends as failed.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Exponential(_options.Retries, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(500));
            r.Ignore<RunValidationException>();
            r.Ignore<InvalidJobException>();
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
