using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Persistence;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Batch;

/// <summary>
/// What the batch API keeps in its database, on each provider: runs and results, restarts, duplicate
/// completions and result callbacks. The tests are written once here and run by one class per provider.
/// </summary>
public abstract class BatchPersistenceTests(BatchPersistenceFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Runs_api_stores_a_run_and_its_result()
    {
        using var http = fixture.App.CreateHttpClient();

        var id = await SubmitAsync(http, "print(input()[::-1])", stdin: "stressed\n");
        var run = await BatchApiTests.WaitForRunAsync(http, id.ToString());
        var record = await FindAsync(fixture.App, id);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal("desserts\n", run.GetProperty("result").GetProperty("stdout").GetString());
        Assert.Equal(RunRecordStatus.Completed, record.Status);
        Assert.Equal("ok", record.Verdict);
        Assert.Equal("stressed\n", record.Stdin);
        Assert.Equal("desserts\n", record.Stdout);
        Assert.NotNull(record.FinishedAtUtc);
    }

    [Fact]
    public async Task A_result_survives_a_restart_of_the_web_app_on_the_same_database()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        string taskId;
        await using (var first = await BatchPersistenceFixture.StartAppAsync(database))
        {
            using var http = first.CreateHttpClient();
            taskId = await BatchApiTests.SubmitSeedAsync(http, "python", "print('kept')");
            var result = await BatchApiTests.WaitForSeedResultAsync(http, taskId);
            Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        }

        await using (var second = await BatchPersistenceFixture.StartAppAsync(database))
        {
            using var http = second.CreateHttpClient();
            var result = await BatchApiTests.GetSeedResultAsync(http, taskId);
            Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
            Assert.Equal("kept\n", result.GetProperty("result").GetProperty("output").GetString());
        }
    }

    [Fact]
    public async Task A_second_completion_of_the_same_job_is_ignored_and_the_first_wins()
    {
        var id = Guid.CreateVersion7();
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<RunStore>();
            await store.AddAsync(new RunRecord { Id = id, Language = "python", FilesJson = "[]", LimitsJson = "{}", QueuedAtUtc = DateTime.UtcNow }, CancellationToken.None).WaitAsync(Timeout);

            var first = await store.CompleteAsync(Completed(id, "first\n"), CancellationToken.None).WaitAsync(Timeout);
            var second = await store.CompleteAsync(Completed(id, "second\n"), CancellationToken.None).WaitAsync(Timeout);

            Assert.True(first);
            Assert.False(second);
        }

        using var http = fixture.App.CreateHttpClient();
        var result = await BatchApiTests.GetSeedResultAsync(http, id.ToString());
        Assert.Equal("first\n", result.GetProperty("result").GetProperty("output").GetString());
    }

    [Fact]
    public async Task Storing_a_result_says_whether_it_made_a_callback_due_and_a_second_completion_changes_nothing()
    {
        var plain = Guid.CreateVersion7();
        var calledBack = Guid.CreateVersion7();
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<RunStore>();
            await store.AddAsync(Queued(plain), CancellationToken.None).WaitAsync(Timeout);
            // A callback to a closed port: the dispatcher may try it, which does not matter here.
            await store.AddAsync(Queued(calledBack, callbackUrl: "http://127.0.0.1:9/never"), CancellationToken.None).WaitAsync(Timeout);

            Assert.Equal(StoredResult.Stored, await store.StoreResultAsync(Completed(plain, "plain\n"), CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(StoredResult.StoredWithCallback, await store.StoreResultAsync(Completed(calledBack, "called\n"), CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(StoredResult.AlreadyEnded, await store.StoreResultAsync(Completed(plain, "again\n"), CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(StoredResult.AlreadyEnded, await store.StoreResultAsync(Completed(calledBack, "again\n"), CancellationToken.None).WaitAsync(Timeout));
        }

        var plainRecord = await FindAsync(fixture.App, plain);
        var calledBackRecord = await FindAsync(fixture.App, calledBack);
        Assert.Equal(RunRecordStatus.Completed, plainRecord.Status);
        Assert.Equal("plain\n", plainRecord.Stdout);
        Assert.False(plainRecord.CallbackPending);
        Assert.Equal(RunRecordStatus.Completed, calledBackRecord.Status);
        Assert.Equal("called\n", calledBackRecord.Stdout);
        Assert.True(calledBackRecord.CallbackPending || calledBackRecord.CallbackAttempts > 0, "the callback was not made due with the result");
    }

    [Fact]
    public async Task Starting_and_ending_a_run_store_every_field_as_the_entity_model_reads_and_queries_it()
    {
        // The two state changes are SQL, not the entity model: each value must land in the form EF Core
        // writes and compares (SQLite keeps times as text, so another format would break equality and order).
        var fresh = Guid.CreateVersion7();
        var started = Guid.CreateVersion7();
        var startedAt = new DateTime(2026, 12, 1, 9, 30, 15, 123, 456, DateTimeKind.Utc);
        var finishedAt = startedAt.AddSeconds(2);
        TestCaseResult[] cases = [new(0, "first", "wrong_answer", "out", "err", 1, 12, 3, 4096)];
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<RunStore>();
            await store.AddAsync(Queued(fresh), CancellationToken.None).WaitAsync(Timeout);
            await store.AddAsync(Queued(started), CancellationToken.None).WaitAsync(Timeout);

            Assert.True(await store.MarkStartedAsync(new RunStarted(started, "worker-a", startedAt), CancellationToken.None).WaitAsync(Timeout));
            Assert.False(await store.MarkStartedAsync(new RunStarted(started, "worker-b", finishedAt), CancellationToken.None).WaitAsync(Timeout));
            foreach (var id in new[] { fresh, started })
            {
                var completed = new RunCompleted(
                    id, RunCompletedStatus.Failed, "runtime_error", "reason 'quoted'", "compiled\n", "out ü\n", "err\n", 3, 9, 1500, 1400, 65536,
                    "worker-c", finishedAt.AddSeconds(-1), finishedAt, cases);
                Assert.Equal(StoredResult.Stored, await store.StoreResultAsync(completed, CancellationToken.None).WaitAsync(Timeout));
            }

            var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
            Assert.Equal(1, await db.Runs.CountAsync(r => r.Id == started && r.StartedAtUtc == startedAt && r.Status == RunRecordStatus.Failed).WaitAsync(Timeout));
            Assert.Equal(1, await db.Runs.CountAsync(r => r.Id == fresh && r.StartedAtUtc == finishedAt.AddSeconds(-1)).WaitAsync(Timeout));
            Assert.Equal(2, await db.Runs.CountAsync(r => (r.Id == fresh || r.Id == started) && r.FinishedAtUtc == finishedAt).WaitAsync(Timeout));
            Assert.Equal(0, await db.Runs.CountAsync(r => r.Id == started && r.FinishedAtUtc > finishedAt).WaitAsync(Timeout));
        }

        var record = await FindAsync(fixture.App, started);
        Assert.Equal(RunRecordStatus.Failed, record.Status);
        Assert.Equal("runtime_error", record.Verdict);
        Assert.Equal("reason 'quoted'", record.FailureReason);
        Assert.Equal("compiled\n", record.CompileOutput);
        Assert.Equal("out ü\n", record.Stdout);
        Assert.Equal("err\n", record.Stderr);
        Assert.Equal((3, 9, 1500L, 1400L, 65536L), (record.ExitCode, record.Signal, record.WallMs, record.CpuMs, record.PeakMemoryBytes));
        Assert.Equal("worker-c", record.WorkerId);
        Assert.Equal((startedAt, finishedAt), (DateTime.SpecifyKind(record.StartedAtUtc!.Value, DateTimeKind.Utc), DateTime.SpecifyKind(record.FinishedAtUtc!.Value, DateTimeKind.Utc)));
        Assert.False(record.CallbackPending);
        var stored = JsonSerializer.Deserialize<List<TestCaseResult>>(record.TestResultsJson!, JsonSerializerOptions.Web);
        Assert.Equal(cases, stored);
    }

    [Fact]
    public async Task Admission_counts_unfinished_batch_jobs_in_all_and_of_one_client_in_one_query()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        await using var app = await BatchPersistenceFixture.StartAppAsync(database);
        await using var scope = app.Services.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<RunStore>();
        Assert.Equal((0, 0), await store.CountUnfinishedJobsAsync("client-a", CancellationToken.None).WaitAsync(Timeout));

        await store.AddAsync(Queued(Guid.CreateVersion7(), clientKey: "client-a"), CancellationToken.None).WaitAsync(Timeout);
        await store.AddAsync(Queued(Guid.CreateVersion7(), clientKey: "client-a", status: RunRecordStatus.Running), CancellationToken.None).WaitAsync(Timeout);
        await store.AddAsync(Queued(Guid.CreateVersion7(), clientKey: "client-b"), CancellationToken.None).WaitAsync(Timeout);
        await store.AddAsync(Queued(Guid.CreateVersion7(), clientKey: "client-a", status: RunRecordStatus.Completed), CancellationToken.None).WaitAsync(Timeout);
        await store.AddAsync(Queued(Guid.CreateVersion7(), clientKey: "client-a", status: RunRecordStatus.Failed), CancellationToken.None).WaitAsync(Timeout);
        var interactive = Queued(Guid.CreateVersion7(), clientKey: "client-a", status: RunRecordStatus.Running);
        interactive.Kind = RunKind.Interactive;
        await store.AddAsync(interactive, CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal((3, 2), await store.CountUnfinishedJobsAsync("client-a", CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal((3, 1), await store.CountUnfinishedJobsAsync("client-b", CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal((3, 0), await store.CountUnfinishedJobsAsync("client-c", CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_waiting_request_sees_a_result_that_another_process_stored()
    {
        // Stored straight in the database, as a second web replica consuming the completion would: no
        // consumer of this process wakes the request, so it finds the result by looking at the row again.
        var id = Guid.CreateVersion7();
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RunStore>().AddAsync(Queued(id), CancellationToken.None).WaitAsync(Timeout);
        }

        using var http = fixture.App.CreateHttpClient();
        var waiting = http.GetStringAsync(new Uri($"/api/v1/runs/{id}?wait=true", UriKind.Relative));
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            Assert.True(await scope.ServiceProvider.GetRequiredService<RunStore>().CompleteAsync(Completed(id, "elsewhere\n"), CancellationToken.None).WaitAsync(Timeout));
        }

        var run = JsonNode.Parse(await waiting.WaitAsync(Timeout))!;
        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("elsewhere\n", run["result"]!["stdout"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_waiting_request_is_woken_by_the_completion_this_process_stores_also_when_it_is_redelivered()
    {
        var id = Guid.CreateVersion7();
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<RunStore>().AddAsync(Queued(id), CancellationToken.None).WaitAsync(Timeout);
        }

        using var http = fixture.App.CreateHttpClient();
        var waiting = http.GetStringAsync(new Uri($"/api/v1/runs/{id}?wait=true", UriKind.Relative));
        var bus = fixture.App.Services.GetRequiredService<IBus>();
        await bus.Publish(new RunStarted(id, "test", DateTime.UtcNow)).WaitAsync(Timeout);
        await bus.Publish(Completed(id, "first\n")).WaitAsync(Timeout);
        var run = JsonNode.Parse(await waiting.WaitAsync(Timeout))!;

        // The bus consumes messages concurrently: the redelivery is sent once the first is stored.
        await bus.Publish(Completed(id, "redelivered\n")).WaitAsync(Timeout);
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        Assert.Equal("completed", run["status"]!.GetValue<string>());
        Assert.Equal("first\n", run["result"]!["stdout"]!.GetValue<string>());
        using var again = await http.GetAsync(new Uri($"/api/v1/runs/{id}?wait=true", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal("first\n", JsonNode.Parse(await again.Content.ReadAsStringAsync())!["result"]!["stdout"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_callback_is_posted_once_with_the_run_as_the_runs_api_shows_it()
    {
        var inbox = fixture.Receiver.CreateInbox();
        using var http = fixture.App.CreateHttpClient();

        var id = await SubmitAsync(http, "print('called back')", callbackUrl: inbox.Url);
        var delivered = await inbox.Delivered.WaitAsync(Timeout);
        var record = await WaitForRecordAsync(fixture.App, id, r => !r.CallbackPending);
        using var run = await http.GetAsync(new Uri($"/api/v1/runs/{id}", UriKind.Relative)).WaitAsync(Timeout);
        var shown = await run.Content.ReadAsStringAsync().WaitAsync(Timeout);

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(shown), JsonNode.Parse(delivered.Body)), $"callback body {delivered.Body} differs from {shown}");
        Assert.Equal("called back\n", JsonNode.Parse(delivered.Body)!["result"]!["stdout"]!.GetValue<string>());
        Assert.Equal("application/json", delivered.ContentType?.Split(';')[0]);
        Assert.Equal(id.ToString(), delivered.RunIdHeader);
        Assert.Single(inbox.Received);
        Assert.Equal(1, record.CallbackAttempts);
        Assert.NotNull(record.CallbackDeliveredAtUtc);
        Assert.Null(record.CallbackLastError);
    }

    [Fact]
    public async Task A_callback_answered_500_is_retried_until_it_succeeds_and_counts_its_attempts()
    {
        var inbox = fixture.Receiver.CreateInbox(failures: 1, failureStatus: 500);
        using var http = fixture.App.CreateHttpClient();

        var id = await SubmitAsync(http, "print('again')", callbackUrl: inbox.Url);
        await inbox.Delivered.WaitAsync(Timeout);
        var record = await WaitForRecordAsync(fixture.App, id, r => !r.CallbackPending);

        Assert.Equal([500, 204], inbox.Received.Select(r => r.AnsweredStatus));
        Assert.Single(inbox.Received, r => r.AnsweredStatus == 204);
        Assert.Equal(2, record.CallbackAttempts);
        Assert.NotNull(record.CallbackDeliveredAtUtc);
        Assert.Null(record.CallbackLastError);
    }

    [Theory]
    [InlineData("http://example.com/callback")]
    [InlineData("ftp://127.0.0.1/callback")]
    [InlineData("/relative/callback")]
    public async Task A_callback_url_off_the_allow_list_is_refused_with_400_and_nothing_is_queued(string callbackUrl)
    {
        var before = await CountRunsAsync(fixture.App);
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.PostAsJsonAsync(
            new Uri("/api/v1/runs", UriKind.Relative),
            new { language = "python", files = new[] { new { name = "main.py", content = "print(1)" } }, callbackUrl }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await CountRunsAsync(fixture.App));
    }

    [Fact]
    public async Task A_second_completion_does_not_send_the_callback_again()
    {
        var inbox = fixture.Receiver.CreateInbox();
        using var http = fixture.App.CreateHttpClient();
        var id = await SubmitAsync(http, "print('once')", callbackUrl: inbox.Url);
        await inbox.Delivered.WaitAsync(Timeout);
        var delivered = await WaitForRecordAsync(fixture.App, id, r => !r.CallbackPending);

        // The same completion again, through the store and through the bus (a redelivered message).
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            Assert.False(await scope.ServiceProvider.GetRequiredService<RunStore>().CompleteAsync(Completed(id, "once\n"), CancellationToken.None).WaitAsync(Timeout));
        }

        await fixture.App.Services.GetRequiredService<IBus>().Publish(Completed(id, "once\n")).WaitAsync(Timeout);

        // A later run's callback is delivered after the duplicate was handled; the first one was not re-sent.
        var later = fixture.Receiver.CreateInbox();
        await SubmitAsync(http, "print('later')", callbackUrl: later.Url);
        await later.Delivered.WaitAsync(Timeout);
        var record = await FindAsync(fixture.App, id);

        Assert.Single(inbox.Received);
        Assert.False(record.CallbackPending);
        Assert.Equal(1, record.CallbackAttempts);
        Assert.Equal(delivered.CallbackDeliveredAtUtc, record.CallbackDeliveredAtUtc);
        Assert.Equal("once\n", record.Stdout);
    }

    [Fact]
    public async Task An_undelivered_callback_is_delivered_after_a_restart_of_the_web_app()
    {
        await using var database = await fixture.CreateDatabaseAsync();
        var inbox = fixture.Receiver.CreateInbox(failures: int.MaxValue, failureStatus: 503);
        Guid id;

        // The first app fails once and would wait an hour before its retry; it stops before that.
        await using (var first = await BatchPersistenceFixture.StartAppAsync(database, ("Iris:Batch:CallbackRetryDelaySeconds", "3600"), ("Iris:Batch:CallbackMaxRetryDelaySeconds", "3600")))
        {
            using var http = first.CreateHttpClient();
            id = await SubmitAsync(http, "print('durable')", callbackUrl: inbox.Url);
            await inbox.FirstReceived.WaitAsync(Timeout);
            var failed = await WaitForRecordAsync(first, id, r => r.CallbackLastError is not null);
            Assert.True(failed.CallbackPending);
            Assert.Equal(1, failed.CallbackAttempts);
            Assert.Contains("503", failed.CallbackLastError);
        }

        inbox.StopFailing();
        await using (var second = await BatchPersistenceFixture.StartAppAsync(database))
        {
            var delivered = await inbox.Delivered.WaitAsync(Timeout);
            var record = await WaitForRecordAsync(second, id, r => !r.CallbackPending);

            Assert.Equal([503, 204], inbox.Received.Select(r => r.AnsweredStatus));
            Assert.Equal("durable\n", JsonNode.Parse(delivered.Body)!["result"]!["stdout"]!.GetValue<string>());
            Assert.Equal(2, record.CallbackAttempts);
            Assert.NotNull(record.CallbackDeliveredAtUtc);
        }
    }

    private static async Task<Guid> SubmitAsync(HttpClient http, string program, string? stdin = null, Uri? callbackUrl = null)
    {
        var body = new { language = "python", files = new[] { new { name = "main.py", content = program } }, stdin, callbackUrl = callbackUrl?.ToString() };
        using var response = await http.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), body).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return Guid.Parse((await BatchApiTests.ReadJsonAsync(response)).GetProperty("id").GetString()!);
    }

    private static async Task<RunRecord> FindAsync(IrisWebApp app, Guid id)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RunStore>().FindAsync(id, CancellationToken.None).WaitAsync(Timeout)
            ?? throw new InvalidOperationException($"run {id} is not stored");
    }

    /// <summary>Reads the run until <paramref name="condition"/> holds (the dispatcher records an outcome after the receiver answers).</summary>
    private static async Task<RunRecord> WaitForRecordAsync(IrisWebApp app, Guid id, Func<RunRecord, bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var record = await FindAsync(app, id);
            if (condition(record) || DateTime.UtcNow > deadline)
            {
                return record;
            }

            await Task.Delay(50);
        }
    }

    private static async Task<int> CountRunsAsync(IrisWebApp app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IrisDbContext>().Runs.CountAsync(r => r.Kind == RunKind.Batch).WaitAsync(Timeout);
    }

    private static RunRecord Queued(Guid id, string clientKey = "test", RunRecordStatus status = RunRecordStatus.Queued, string? callbackUrl = null) => new()
    {
        Id = id,
        Kind = RunKind.Batch,
        Status = status,
        ClientKey = clientKey,
        Language = "python",
        FilesJson = "[]",
        LimitsJson = "{}",
        QueuedAtUtc = DateTime.UtcNow,
        CallbackUrl = callbackUrl,
    };

    private static RunCompleted Completed(Guid id, string stdout) =>
        new(id, RunCompletedStatus.Completed, "ok", null, null, stdout, string.Empty, 0, null, 1, 1, 1, "test", DateTime.UtcNow, DateTime.UtcNow);
}

[Trait("Needs", "Bubblewrap")]
public sealed class SqliteBatchPersistenceTests(SqliteBatchPersistenceFixture fixture)
    : BatchPersistenceTests(fixture), IClassFixture<SqliteBatchPersistenceFixture>;

[Trait("Needs", "Bubblewrap")]
[Trait("Needs", "Postgres")]
public sealed class PostgresBatchPersistenceTests(PostgresBatchPersistenceFixture fixture)
    : BatchPersistenceTests(fixture), IClassFixture<PostgresBatchPersistenceFixture>;

/// <summary>
/// A callback receiver and a web app on a fresh database of one provider, which allows callbacks to the
/// receiver and retries them quickly; restart tests start their own apps on their own databases.
/// </summary>
public abstract class BatchPersistenceFixture : IAsyncLifetime
{
    private TestDatabase? _database;

    private CallbackReceiver? _receiver;

    private IrisWebApp? _app;

    public CallbackReceiver Receiver => _receiver ?? throw new InvalidOperationException("The receiver has not started.");

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    public abstract Task<TestDatabase> CreateDatabaseAsync();

    /// <summary>An app on <paramref name="database"/> with the callback settings, plus <paramref name="overrides"/>.</summary>
    public static Task<IrisWebApp> StartAppAsync(TestDatabase database, params (string Key, string? Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>(database.Settings)
        {
            ["Iris:Batch:CallbackHosts:0"] = "127.0.0.1",
            ["Iris:Batch:CallbackRetryDelaySeconds"] = "0.1",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        return IrisWebApp.StartAsync(settings);
    }

    public async Task InitializeAsync()
    {
        _receiver = await CallbackReceiver.StartAsync();
        _database = await CreateDatabaseAsync();
        _app = await StartAppAsync(_database);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }
}

public sealed class SqliteBatchPersistenceFixture : BatchPersistenceFixture
{
    public override Task<TestDatabase> CreateDatabaseAsync() => Task.FromResult(TestDatabase.Sqlite());
}

public sealed class PostgresBatchPersistenceFixture : BatchPersistenceFixture
{
    public override async Task<TestDatabase> CreateDatabaseAsync() => TestDatabase.Postgres(await TestPostgresDatabase.CreateAsync().WaitAsync(TimeSpan.FromSeconds(60)));
}

/// <summary>A fresh database for a web app (the settings that point the app at it), removed at the end.</summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private readonly Func<ValueTask> _remove;

    private TestDatabase(IReadOnlyDictionary<string, string?> settings, Func<ValueTask> remove)
    {
        Settings = settings;
        _remove = remove;
    }

    public IReadOnlyDictionary<string, string?> Settings { get; }

    public static TestDatabase Sqlite()
    {
        var directory = IrisWebApp.CreateDataDirectory();
        return new TestDatabase(new Dictionary<string, string?> { ["Iris:DataDirectory"] = directory }, () =>
        {
            Directory.Delete(directory, recursive: true);
            return ValueTask.CompletedTask;
        });
    }

    public static TestDatabase Postgres(TestPostgresDatabase database) =>
        new(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = database.ConnectionString }, database.DisposeAsync);

    public ValueTask DisposeAsync() => _remove();
}
