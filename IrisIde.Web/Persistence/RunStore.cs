using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Batch.Contracts;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Web.Persistence;

/// <summary>
/// Reads and writes <see cref="RunRecord"/>s. State changes are single conditional UPDATEs, so they are
/// idempotent under redelivery: only a queued run starts, only a queued or running run ends, and the
/// first completion of a job wins. A callback becomes due only with that first completion.
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

    /// <summary>Batch jobs not yet over: in all, and of <paramref name="clientKey"/> (one query for both).</summary>
    public async Task<(int All, int OfClient)> CountUnfinishedJobsAsync(string clientKey, CancellationToken cancellationToken)
    {
        var counts = await db.Runs
            .Where(r => r.Kind == RunKind.Batch && (r.Status == RunRecordStatus.Queued || r.Status == RunRecordStatus.Running))
            .GroupBy(r => 1)
            .Select(g => new { All = g.Count(), OfClient = g.Count(r => r.ClientKey == clientKey) })
            .FirstOrDefaultAsync(cancellationToken);
        return counts is null ? (0, 0) : (counts.All, counts.OfClient);
    }

    /// <summary>Queued runs queued before <paramref name="record"/>: 0 means it is next.</summary>
    public Task<int> QueuePositionAsync(RunRecord record, CancellationToken cancellationToken) =>
        db.Runs.CountAsync(r => r.Status == RunRecordStatus.Queued && r.QueuedAtUtc < record.QueuedAtUtc, cancellationToken);

    public async Task<bool> MarkStartedAsync(RunStarted started, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(started);
        return await db.Database.ExecuteSqlAsync(
            $"""
            UPDATE runs SET "Status" = {nameof(RunRecordStatus.Running)}, "StartedAtUtc" = {started.StartedAtUtc}, "WorkerId" = {started.WorkerId}
            WHERE "Id" = {started.JobId} AND "Status" = 'Queued'
            """,
            cancellationToken) == 1;
    }

    /// <summary>Stores a job's result; false when the run had already ended (a duplicate completion).</summary>
    public async Task<bool> CompleteAsync(RunCompleted completed, CancellationToken cancellationToken) =>
        await StoreResultAsync(completed, cancellationToken) != StoredResult.AlreadyEnded;

    /// <summary>
    /// Stores a job's result and says whether that made a callback due, so the caller wakes the callback
    /// dispatcher only for runs that have one. The first completion of a job wins; a later one changes nothing.
    /// </summary>
    /// <remarks>
    /// Most runs have no callback: for them the first conditional UPDATE is the only round trip. A run with
    /// one takes a second UPDATE, which marks the callback due together with the result, so a run that ended
    /// never lacks its due callback. Each UPDATE only touches a run that has not ended, so a duplicate
    /// completion changes nothing whichever of the two it meets.
    /// </remarks>
    public async Task<StoredResult> StoreResultAsync(RunCompleted completed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(completed);
        if (await SetResultAsync(completed, callbackPending: false, cancellationToken) == 1)
        {
            return StoredResult.Stored;
        }

        return await SetResultAsync(completed, callbackPending: true, cancellationToken) == 1
            ? StoredResult.StoredWithCallback
            : StoredResult.AlreadyEnded;
    }

    private Task<int> SetResultAsync(RunCompleted completed, bool callbackPending, CancellationToken cancellationToken)
    {
        var status = completed.Status == RunCompletedStatus.Completed ? nameof(RunRecordStatus.Completed) : nameof(RunRecordStatus.Failed);
        var testResults = completed.TestCases is { } cases ? JsonSerializer.Serialize([.. cases], RunStoreJsonContext.Default.ListTestCaseResult) : null;
        // Written as SQL: the same UPDATE as an ExecuteUpdate, without walking and hashing a tree of sixteen
        // setters at every job (a tenth of the web app's CPU per job). Both providers quote the model's names
        // alike; the values are parameters EF Core maps as it maps the columns (BatchPersistenceTests, both databases).
        return db.Database.ExecuteSqlAsync(
            $"""
            UPDATE runs SET "Status" = {status}, "Verdict" = {completed.Verdict}, "FailureReason" = {completed.FailureReason},
                "CompileOutput" = {completed.CompileOutput}, "Stdout" = {completed.Stdout}, "Stderr" = {completed.Stderr},
                "ExitCode" = {completed.ExitCode}, "Signal" = {completed.Signal}, "WallMs" = {completed.WallMs}, "CpuMs" = {completed.CpuMs},
                "PeakMemoryBytes" = {completed.PeakMemoryBytes}, "WorkerId" = {completed.WorkerId},
                "StartedAtUtc" = COALESCE("StartedAtUtc", {completed.StartedAtUtc}), "FinishedAtUtc" = {completed.FinishedAtUtc},
                "TestResultsJson" = {testResults}, "CallbackPending" = {callbackPending}
            WHERE "Id" = {completed.JobId} AND "Status" IN ('Queued', 'Running')
                AND ("CallbackUrl" IS NOT NULL) = {callbackPending}
            """,
            cancellationToken);
    }

    /// <summary>Runs whose callback is still to be delivered, oldest result first.</summary>
    public Task<List<PendingCallback>> PendingCallbacksAsync(int take, CancellationToken cancellationToken) =>
        db.Runs.AsNoTracking()
            .Where(r => r.CallbackPending)
            .OrderBy(r => r.FinishedAtUtc)
            .Take(take)
            .Select(r => new PendingCallback(r.Id, r.CallbackAttempts, r.CallbackLastAttemptAtUtc))
            .ToListAsync(cancellationToken);

    /// <summary>
    /// Claims the next delivery attempt of a callback: true for exactly one caller per attempt, even with
    /// several dispatchers on the same database, as the attempt count is the compare-and-set token.
    /// </summary>
    public async Task<bool> ClaimCallbackAttemptAsync(PendingCallback callback, DateTime nowUtc, CancellationToken cancellationToken) =>
        await db.Runs
            .Where(r => r.Id == callback.RunId && r.CallbackPending && r.CallbackAttempts == callback.Attempts)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.CallbackAttempts, callback.Attempts + 1)
                    .SetProperty(r => r.CallbackLastAttemptAtUtc, nowUtc),
                cancellationToken) == 1;

    public Task CallbackDeliveredAsync(Guid runId, DateTime nowUtc, CancellationToken cancellationToken) =>
        db.Runs
            .Where(r => r.Id == runId)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.CallbackPending, false)
                    .SetProperty(r => r.CallbackDeliveredAtUtc, nowUtc)
                    .SetProperty(r => r.CallbackLastError, (string?)null),
                cancellationToken);

    /// <summary>Records a failed attempt (a null error keeps the last one); <paramref name="giveUp"/> ends the retries.</summary>
    public Task CallbackFailedAsync(Guid runId, string? error, bool giveUp, CancellationToken cancellationToken)
    {
        var capped = error is { Length: > RunRecord.MaxCallbackErrorLength } ? error[..RunRecord.MaxCallbackErrorLength] : error;
        return db.Runs
            .Where(r => r.Id == runId && r.CallbackDeliveredAtUtc == null)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.CallbackPending, !giveUp)
                    .SetProperty(r => r.CallbackLastError, r => capped ?? r.CallbackLastError),
                cancellationToken);
    }

    /// <summary>
    /// Removes the files, stdin and output of up to <paramref name="take"/> batch runs that finished before
    /// <paramref name="finishedBeforeUtc"/> and whose callback is not still due (it carries the output);
    /// returns how many it expired. The rows stay, marked with <see cref="RunRecord.ContentExpiredAtUtc"/>.
    /// </summary>
    public async Task<int> ExpireContentAsync(DateTime finishedBeforeUtc, DateTime nowUtc, int take, CancellationToken cancellationToken)
    {
        var due = await db.Runs.AsNoTracking()
            .Where(r => r.ContentExpiredAtUtc == null && r.FinishedAtUtc < finishedBeforeUtc && r.Kind == RunKind.Batch && !r.CallbackPending)
            .OrderBy(r => r.FinishedAtUtc)
            .Take(take)
            .Select(r => r.Id)
            .ToListAsync(cancellationToken);
        if (due.Count == 0)
        {
            return 0;
        }

        // The same conditions again: a run whose callback became due in between keeps its content.
        return await db.Runs
            .Where(r => due.Contains(r.Id) && r.ContentExpiredAtUtc == null && !r.CallbackPending)
            .ExecuteUpdateAsync(
                s => s.SetProperty(r => r.FilesJson, "[]")
                    .SetProperty(r => r.Stdin, (string?)null)
                    .SetProperty(r => r.TestCasesJson, (string?)null)
                    .SetProperty(r => r.CompileOutput, (string?)null)
                    .SetProperty(r => r.Stdout, (string?)null)
                    .SetProperty(r => r.Stderr, (string?)null)
                    .SetProperty(r => r.TestResultsJson, (string?)null)
                    .SetProperty(r => r.ContentExpiredAtUtc, nowUtc),
                cancellationToken);
    }
}

/// <summary>What storing a result did: nothing (the run had ended already), or stored it, with or without a due callback.</summary>
public enum StoredResult
{
    AlreadyEnded,
    Stored,
    StoredWithCallback,
}

/// <summary>A callback still to deliver: the run, attempts made so far and when the last one was made.</summary>
public sealed record PendingCallback(Guid RunId, int Attempts, DateTime? LastAttemptAtUtc);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(List<TestCaseResult>))]
[JsonSerializable(typeof(List<BatchTestCase>))]
internal sealed partial class RunStoreJsonContext : JsonSerializerContext;
