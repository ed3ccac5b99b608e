using System.Text.Json;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Runs;
using IrisIde.Web.Persistence;
using MassTransit;

namespace IrisIde.Web.Batch;

/// <summary>
/// Queues a batch job: validates it with the pipeline's own rules (so a bad job is refused before it
/// exists), stores it as queued with its clamped limits, then sends <see cref="RunRequested"/> to the job queue.
/// </summary>
public sealed class RunSubmitter(
    RunPipeline pipeline,
    RunStore store,
    ISendEndpointProvider sendEndpoints,
    TimeProvider timeProvider,
    ILogger<RunSubmitter> logger)
{
    /// <summary>Throws <see cref="RunValidationException"/> for a request that cannot run.</summary>
    public async Task<RunRecord> SubmitAsync(
        RunRequest request, CancellationToken cancellationToken, IReadOnlyList<BatchTestCase>? testCases = null, string? comparison = null, string? callbackUrl = null)
    {
        // Each test case's stdin obeys the same rules as a run's.
        var runLimits = testCases is { Count: > 0 }
            ? await pipeline.ValidateAsync(request, [.. testCases.Select(c => c.Stdin)], cancellationToken)
            : await pipeline.ValidateAsync(request, cancellationToken);

        var limits = RunRequestFactory.ToBatchLimits(runLimits);
        var files = request.Files.Select(f => new BatchFile(f.Name, f.Content)).ToList();
        var record = new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Owner = request.Owner,
            Kind = RunKind.Batch,
            Status = RunRecordStatus.Queued,
            Language = request.Language,
            FilesJson = JsonSerializer.Serialize(files, BatchJsonContext.Default.ListBatchFile),
            Stdin = request.Stdin,
            LimitsJson = JsonSerializer.Serialize(limits, BatchJsonContext.Default.BatchLimits),
            QueuedAtUtc = timeProvider.GetUtcNow().UtcDateTime,
            TestCasesJson = testCases is { Count: > 0 } ? JsonSerializer.Serialize([.. testCases], RunStoreJsonContext.Default.ListBatchTestCase) : null,
            Comparison = testCases is { Count: > 0 } ? comparison ?? OutputComparison.Exact : null,
            CallbackUrl = callbackUrl,
        };
        await store.AddAsync(record, cancellationToken);
        var jobs = await sendEndpoints.GetSendEndpoint(BatchTransport.JobQueue);
        await jobs.Send(new RunRequested(record.Id, request.Language, files, request.Stdin, limits, record.QueuedAtUtc, testCases is { Count: > 0 } ? testCases : null, record.Comparison), cancellationToken);
        BatchApiLog.JobQueued(logger, record.Id, request.Language, files.Count);
        return record;
    }
}
