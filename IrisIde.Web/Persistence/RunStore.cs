using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Batch.Contracts;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Persistence;

/// <summary>
/// Reads and writes <see cref="RunRecord"/>s. State changes are single conditional UPDATEs, so they are
/// idempotent under redelivery: only a queued run starts, only a queued or running run ends, and the
/// first completion of a job wins.
/// </summary>
public sealed class RunStore(IrisDbContext db)
{
    public async Task AddAsync(RunRecord record, CancellationToken cancellationToken)
    {
        db.Runs.Add(record);
        await db.SaveChangesAsync(cancellationToken);
    }

    public Task<RunRecord?> FindAsync(Guid id, CancellationToken cancellationToken) =>
        db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    /// <summary>Queued runs queued before <paramref name="record"/>: 0 means it is next.</summary>
    public Task<int> QueuePositionAsync(RunRecord record, CancellationToken cancellationToken) =>
        db.Runs.CountAsync(r => r.Status == RunRecordStatus.Queued && r.QueuedAtUtc < record.QueuedAtUtc, cancellationToken);

    public async Task<bool> MarkStartedAsync(RunStarted started, CancellationToken cancellationToken) =>
        await db.Runs
            .Where(r => r.Id == started.JobId && r.Status == RunRecordStatus.Queued)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, RunRecordStatus.Running)
                    .SetProperty(r => r.StartedAtUtc, started.StartedAtUtc)
                    .SetProperty(r => r.WorkerId, started.WorkerId),
                cancellationToken) == 1;

    /// <summary>Stores a job's result; false when the run had already ended (a duplicate completion).</summary>
    public async Task<bool> CompleteAsync(RunCompleted completed, CancellationToken cancellationToken)
    {
        var status = completed.Status == RunCompletedStatus.Completed ? RunRecordStatus.Completed : RunRecordStatus.Failed;
        var testResults = completed.TestCases is { } cases ? JsonSerializer.Serialize([.. cases], RunStoreJsonContext.Default.ListTestCaseResult) : null;
        var updated = await db.Runs
            .Where(r => r.Id == completed.JobId && (r.Status == RunRecordStatus.Queued || r.Status == RunRecordStatus.Running))
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.Status, status)
                    .SetProperty(r => r.Verdict, completed.Verdict)
                    .SetProperty(r => r.FailureReason, completed.FailureReason)
                    .SetProperty(r => r.CompileOutput, completed.CompileOutput)
                    .SetProperty(r => r.Stdout, completed.Stdout)
                    .SetProperty(r => r.Stderr, completed.Stderr)
                    .SetProperty(r => r.ExitCode, completed.ExitCode)
                    .SetProperty(r => r.Signal, completed.Signal)
                    .SetProperty(r => r.WallMs, completed.WallMs)
                    .SetProperty(r => r.CpuMs, completed.CpuMs)
                    .SetProperty(r => r.PeakMemoryBytes, completed.PeakMemoryBytes)
                    .SetProperty(r => r.WorkerId, completed.WorkerId)
                    .SetProperty(r => r.StartedAtUtc, r => r.StartedAtUtc ?? completed.StartedAtUtc)
                    .SetProperty(r => r.FinishedAtUtc, completed.FinishedAtUtc)
                    .SetProperty(r => r.TestResultsJson, testResults),
                cancellationToken);
        return updated == 1;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(List<TestCaseResult>))]
[JsonSerializable(typeof(List<BatchTestCase>))]
internal sealed partial class RunStoreJsonContext : JsonSerializerContext;
