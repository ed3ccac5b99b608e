using System.Data.Common;
using IrisIde.Tests.Support;
using IrisIde.Web.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IrisIde.Tests.Persistence;

/// <summary>
/// The batch path's per-job queries must cost what is waiting, not the whole history. With plain indexes on
/// columns nearly every row shares, SQLite's statistics (gathered by <c>PRAGMA optimize</c>, as the app does)
/// made the admission count and the callback work list scan every run. The queries the store really sends are
/// captured and explained against a database of finished runs with a few unfinished ones.
/// </summary>
public sealed class RunStoreQueryPlanTests : IAsyncLifetime
{
    private const int FinishedRuns = 3000;

    private readonly SqliteConnection _connection = new("Data Source=:memory:");
    private readonly CapturedCommands _captured = new();
    private SqliteIrisDbContext _db = null!;

    public async Task InitializeAsync()
    {
        await _connection.OpenAsync();
        _db = new SqliteIrisDbContext(new DbContextOptionsBuilder<SqliteIrisDbContext>()
            .UseSqlite(_connection)
            .AddInterceptors(_captured)
            .Options);
        await _db.Database.MigrateAsync();

        var start = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < FinishedRuns; i++)
        {
            _db.Runs.Add(Run(start.AddSeconds(i), RunRecordStatus.Completed, $"ip:10.0.{i % 200}.1"));
        }

        _db.Runs.Add(Run(start.AddHours(2), RunRecordStatus.Queued, "ip:10.0.0.1"));
        _db.Runs.Add(Run(start.AddHours(2), RunRecordStatus.Running, "ip:10.0.0.2"));
        var withCallback = Run(start.AddHours(2), RunRecordStatus.Completed, "ip:10.0.0.3");
        withCallback.CallbackUrl = "http://grader/";
        withCallback.CallbackPending = true;
        _db.Runs.Add(withCallback);
        await _db.SaveChangesAsync();
        await _db.Database.ExecuteSqlRawAsync("ANALYZE;");
        _db.ChangeTracker.Clear();
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await _connection.DisposeAsync();
    }

    [Fact]
    public async Task Admission_counts_unfinished_jobs_from_their_partial_index_without_a_scan()
    {
        var store = new RunStore(_db);

        _captured.Clear();
        var counts = await store.CountUnfinishedJobsAsync("ip:10.0.0.1", CancellationToken.None);

        Assert.Equal((2, 1), counts);
        var plan = await PlanAsync(_captured.Single());
        Assert.Contains("IX_runs_UnfinishedBatch", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("SCAN", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_callback_work_list_is_read_from_its_partial_index_without_a_scan()
    {
        var store = new RunStore(_db);

        _captured.Clear();
        var due = await store.PendingCallbacksAsync(10, CancellationToken.None);

        Assert.Single(due);
        var plan = await PlanAsync(_captured.Single());
        Assert.Contains("IX_runs_CallbackDue", plan, StringComparison.Ordinal);
        // Walking the partial index in order is fine (it holds only due callbacks); a scan of the table is not.
        Assert.DoesNotMatch("SCAN r(uns)?(;|$)", plan);
    }

    private static RunRecord Run(DateTime queuedAtUtc, RunRecordStatus status, string clientKey) => new()
    {
        Id = Guid.CreateVersion7(),
        Kind = RunKind.Batch,
        Status = status,
        ClientKey = clientKey,
        Language = "python",
        FilesJson = "[]",
        LimitsJson = "{}",
        QueuedAtUtc = queuedAtUtc,
        FinishedAtUtc = status == RunRecordStatus.Completed ? queuedAtUtc.AddSeconds(1) : null,
        Verdict = status == RunRecordStatus.Completed ? "ok" : null,
    };

    /// <summary>SQLite's plan for a captured command, with the values it was sent with.</summary>
    private async Task<string> PlanAsync(CapturedCommand captured)
    {
        await using var command = _connection.CreateCommand();
        command.CommandText = captured.Text;
        foreach (var (name, value) in captured.Parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return await SqliteQueryPlan.ExplainAsync(command);
    }

    private sealed record CapturedCommand(string Text, IReadOnlyList<(string Name, object? Value)> Parameters);

    /// <summary>The queries the store sends, as sent.</summary>
    private sealed class CapturedCommands : DbCommandInterceptor
    {
        private readonly List<CapturedCommand> _commands = [];

        public void Clear() => _commands.Clear();

        public CapturedCommand Single() => Assert.Single(_commands);

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            _commands.Add(new CapturedCommand(
                command.CommandText,
                [.. command.Parameters.Cast<DbParameter>().Select(p => (p.ParameterName, p.Value))]));
            return base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
        }
    }
}
