using System.Text.Json;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using MassTransit;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Batch;

/// <summary>
/// Queues a batch job: validates it with the pipeline's own rules (so a bad job is refused before it
/// exists), asks admission (the client's starts per minute, its unfinished jobs, the queue as a whole),
/// stores it as queued with its clamped limits, then sends <see cref="RunRequested"/> to the job queue.
/// </summary>
public sealed class RunSubmitter(
    RunPipeline pipeline,
    CourseRunPolicy courses,
    RunAdmission admission,
    IOptions<AdmissionOptions> admissionOptions,
    RunStore store,
    ISendEndpointProvider sendEndpoints,
    TimeProvider timeProvider,
    IrisMetrics metrics,
    ILogger<RunSubmitter> logger)
{
    /// <summary>
    /// Throws <see cref="RunValidationException"/> for a request that cannot run and
    /// <see cref="SessionRefusedException"/> when admission refuses it.
    /// </summary>
    public async Task<RunRecord> SubmitAsync(
        RunRequest request, SessionOwner owner, CancellationToken cancellationToken, IReadOnlyList<BatchTestCase>? testCases = null, string? comparison = null, string? callbackUrl = null)
    {
        ArgumentNullException.ThrowIfNull(owner);
        // A course's languages, limits and caps first: the pipeline then clamps to the server's maxima as always.
        (request, owner) = await courses.ApplyAsync(request, owner, cancellationToken);
        // Each test case's stdin obeys the same rules as a run's.
        var runLimits = testCases is { Count: > 0 }
            ? await pipeline.ValidateAsync(request, [.. testCases.Select(c => c.Stdin)], cancellationToken)
            : await pipeline.ValidateAsync(request, cancellationToken);

        try
        {
            await AdmitAsync(owner, cancellationToken);
        }
        catch (SessionRefusedException e)
        {
            metrics.AdmissionRefused(owner.Surface, e.Refusal);
            throw;
        }

        var limits = RunRequestFactory.ToBatchLimits(runLimits);
        var files = request.Files.Select(f => new BatchFile(f.Name, f.Content)).ToList();
        var record = new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Owner = owner.UserId,
            Course = owner.Course,
            ClientKey = owner.Key,
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

    /// <summary>
    /// The queue caps, counted in the database so every web replica sees the same numbers. A burst can
    /// overshoot them by the requests checked at the same moment; the caps are about minutes of backlog,
    /// not exact counts.
    /// </summary>
    private async Task AdmitAsync(SessionOwner owner, CancellationToken cancellationToken)
    {
        var caps = admissionOptions.Value;
        var retryAfter = TimeSpan.FromSeconds(caps.RetryAfterSeconds);
        var (all, mine) = await store.CountUnfinishedJobsAsync(owner.Key, cancellationToken);
        if (all >= caps.MaxQueuedJobs)
        {
            throw new SessionRefusedException(AdmissionRefusal.QueueFull, $"the batch queue is full ({caps.MaxQueuedJobs} jobs waiting or running), try again in a minute", retryAfter);
        }

        if (mine >= caps.MaxQueuedJobsPerClient)
        {
            throw new SessionRefusedException(AdmissionRefusal.TooManyQueued, $"too many queued jobs: at most {caps.MaxQueuedJobsPerClient} may wait or run at once per client; wait for some to finish", retryAfter);
        }

        admission.AdmitStart(owner);
    }
}
