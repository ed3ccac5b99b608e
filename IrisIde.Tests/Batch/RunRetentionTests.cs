using System.Net.Http.Json;
using IrisIde.Web.Batch;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace IrisIde.Tests.Batch;

/// <summary>
/// The retention purge on each provider: which runs lose their files, stdin and output, that the background
/// service keeps purging as (fake) time passes, and what the APIs answer for an expired run.
/// </summary>
public abstract class RunRetentionTests(BatchPersistenceFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly DateTimeOffset Now = new(2026, 12, 31, 12, 0, 0, TimeSpan.Zero);

    protected abstract void UseDatabase(IServiceCollection services, TestDatabase database);

    [Fact]
    public async Task Purge_expires_finished_batch_runs_older_than_RetentionDays_and_keeps_everything_else()
    {
        await using var database = await fixture.CreateDatabaseAsync().WaitAsync(Timeout);
        await using var services = await StartServicesAsync(database, new FakeTimeProvider(Now));
        var old = Run(finished: Now.AddDays(-31));
        var recent = Run(finished: Now.AddDays(-29));
        var unfinished = Run(finished: null, queued: Now.AddDays(-40));
        var interactive = Run(finished: Now.AddDays(-31), kind: RunKind.Interactive);
        var callbackDue = Run(finished: Now.AddDays(-31), callbackPending: true);
        await AddAsync(services, old, recent, unfinished, interactive, callbackDue);

        var expired = await services.GetRequiredService<RunRetentionPurge>().PurgeAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(1, expired);
        var purged = await FindAsync(services, old.Id);
        Assert.Equal(Now.UtcDateTime, DateTime.SpecifyKind(purged.ContentExpiredAtUtc!.Value, DateTimeKind.Utc));
        Assert.Equal("[]", purged.FilesJson);
        Assert.Null(purged.Stdin);
        Assert.Null(purged.Stdout);
        Assert.Null(purged.Stderr);
        Assert.Null(purged.CompileOutput);
        Assert.Null(purged.TestCasesJson);
        Assert.Null(purged.TestResultsJson);
        Assert.Equal("ok", purged.Verdict);
        Assert.Equal(0, purged.ExitCode);
        Assert.Equal(1234, purged.PeakMemoryBytes);
        foreach (var kept in new[] { recent, unfinished, interactive, callbackDue })
        {
            var record = await FindAsync(services, kept.Id);
            Assert.Null(record.ContentExpiredAtUtc);
            Assert.Equal(kept.Stdin, record.Stdin);
            Assert.Equal(kept.Stdout, record.Stdout);
            Assert.Equal(kept.FilesJson, record.FilesJson);
        }

        Assert.Equal(0, await services.GetRequiredService<RunRetentionPurge>().PurgeAsync(CancellationToken.None).WaitAsync(Timeout));
    }

    [Fact]
    public async Task Background_purge_expires_a_run_once_time_has_moved_past_its_retention()
    {
        await using var database = await fixture.CreateDatabaseAsync().WaitAsync(Timeout);
        var time = new FakeTimeProvider(Now);
        await using var services = await StartServicesAsync(database, time);
        var dueAtStart = Run(finished: Now.AddDays(-31));
        var dueInTwoHours = Run(finished: Now.AddDays(-30).AddHours(2));
        await AddAsync(services, dueAtStart, dueInTwoHours);
        var purge = services.GetRequiredService<RunRetentionPurge>();
        await purge.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        try
        {
            // The pass at start-up.
            await WaitUntilAsync(services, dueAtStart.Id, r => r.ContentExpiredAtUtc is not null, () => { });
            Assert.Null((await FindAsync(services, dueInTwoHours.Id)).ContentExpiredAtUtc);

            // Later passes, as the hourly interval elapses (time moves only when the test moves it).
            await WaitUntilAsync(services, dueInTwoHours.Id, r => r.ContentExpiredAtUtc is not null, () => time.Advance(TimeSpan.FromMinutes(20)));
            var purged = await FindAsync(services, dueInTwoHours.Id);
            Assert.True(purged.ContentExpiredAtUtc >= Now.AddHours(2).UtcDateTime, $"expired at {purged.ContentExpiredAtUtc:O}, before it was due");
            Assert.Null(purged.Stdout);
        }
        finally
        {
            await purge.StopAsync(CancellationToken.None).WaitAsync(Timeout);
        }
    }

    [Fact]
    public async Task Results_of_an_expired_run_say_it_expired_and_keep_its_verdict()
    {
        using var http = fixture.App.CreateHttpClient();
        var taskId = await BatchApiTests.SubmitSeedAsync(http, "python", "print('soon gone')");
        Assert.Equal("SUCCESS", (await BatchApiTests.WaitForSeedResultAsync(http, taskId)).GetProperty("status").GetString());

        // Expire it as the purge would, a year from now.
        await using (var scope = fixture.App.Services.CreateAsyncScope())
        {
            var store = scope.ServiceProvider.GetRequiredService<RunStore>();
            var record = await store.FindAsync(Guid.Parse(taskId), CancellationToken.None).WaitAsync(Timeout);
            Assert.NotNull(record);
            var later = record.FinishedAtUtc!.Value.AddDays(365);
            Assert.True(await store.ExpireContentAsync(later, later, 1000, CancellationToken.None).WaitAsync(Timeout) >= 1);
        }

        var seed = await BatchApiTests.GetSeedResultAsync(http, taskId);
        Assert.Equal("FAILURE", seed.GetProperty("status").GetString());
        Assert.Contains("expired", seed.GetProperty("result").GetString(), StringComparison.Ordinal);

        var run = await http.GetFromJsonAsync<System.Text.Json.JsonElement>(new Uri($"/api/v1/runs/{taskId}", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.String, run.GetProperty("expiredAt").ValueKind);
        Assert.Equal("ok", run.GetProperty("result").GetProperty("verdict").GetString());
        Assert.Equal(string.Empty, run.GetProperty("result").GetProperty("stdout").GetString());
    }

    [Fact]
    public void RetentionDays_below_one_is_refused_at_start_up()
    {
        var validator = new ServiceCollection().AddRunCallbacks(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build())
            .BuildServiceProvider().GetServices<IValidateOptions<BatchApiOptions>>().Single();

        var result = validator.Validate(null, new BatchApiOptions { RetentionDays = 0 });

        Assert.True(result.Failed);
        Assert.Contains("Iris:Batch:RetentionDays", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(validator.Validate(null, new BatchApiOptions()).Succeeded);
    }

    private async Task<ServiceProvider> StartServicesAsync(TestDatabase database, TimeProvider time)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(time);
        services.AddOptions<BatchApiOptions>();
        UseDatabase(services, database);
        services.AddScoped<RunStore>();
        services.AddSingleton<RunRetentionPurge>();
        var provider = services.BuildServiceProvider();
        await using var scope = provider.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IrisDbContext>().Database.MigrateAsync().WaitAsync(Timeout);
        return provider;
    }

    private static RunRecord Run(DateTimeOffset? finished, DateTimeOffset? queued = null, RunKind kind = RunKind.Batch, bool callbackPending = false)
    {
        var queuedAt = (queued ?? finished?.AddSeconds(-5) ?? Now).UtcDateTime;
        return new RunRecord
        {
            Id = Guid.NewGuid(),
            Kind = kind,
            Status = finished is null ? RunRecordStatus.Queued : RunRecordStatus.Completed,
            Language = "python",
            FilesJson = """[{"name":"main.py","content":"print(input())"}]""",
            Stdin = "secret input\n",
            LimitsJson = "{}",
            QueuedAtUtc = queuedAt,
            FinishedAtUtc = finished?.UtcDateTime,
            CompileOutput = finished is null ? null : "warning: none",
            Stdout = finished is null ? null : "secret input\n",
            Stderr = finished is null ? null : string.Empty,
            TestCasesJson = """[{"name":"one","stdin":"1","expectedOutput":"1"}]""",
            TestResultsJson = finished is null ? null : "[]",
            Verdict = finished is null ? null : "ok",
            ExitCode = finished is null ? null : 0,
            PeakMemoryBytes = finished is null ? null : 1234,
            CallbackUrl = callbackPending ? "http://127.0.0.1:1/done" : null,
            CallbackPending = callbackPending,
        };
    }

    private static async Task AddAsync(ServiceProvider services, params RunRecord[] runs)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        db.Runs.AddRange(runs);
        await db.SaveChangesAsync().WaitAsync(Timeout);
    }

    private static async Task<RunRecord> FindAsync(ServiceProvider services, Guid id)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RunStore>().FindAsync(id, CancellationToken.None).WaitAsync(Timeout)
            ?? throw new InvalidOperationException($"run {id} is not stored");
    }

    private static async Task WaitUntilAsync(ServiceProvider services, Guid id, Func<RunRecord, bool> condition, Action step)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition(await FindAsync(services, id)))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"run {id} did not reach the expected state within {Timeout.TotalSeconds:0} s");
            }

            step();
            await Task.Delay(50);
        }
    }
}

public sealed class SqliteRunRetentionTests(SqliteBatchPersistenceFixture fixture)
    : RunRetentionTests(fixture), IClassFixture<SqliteBatchPersistenceFixture>
{
    protected override void UseDatabase(IServiceCollection services, TestDatabase database) =>
        services.AddDbContext<IrisDbContext, SqliteIrisDbContext>(o =>
            o.UseSqlite($"Data Source={Path.Combine(database.Settings["Iris:DataDirectory"]!, "iris.db")}"));
}

[Trait("Needs", "Postgres")]
public sealed class PostgresRunRetentionTests(PostgresBatchPersistenceFixture fixture)
    : RunRetentionTests(fixture), IClassFixture<PostgresBatchPersistenceFixture>
{
    protected override void UseDatabase(IServiceCollection services, TestDatabase database) =>
        services.AddDbContext<IrisDbContext, PostgresIrisDbContext>(o => o.UseNpgsql(database.Settings["ConnectionStrings:Postgres"]));
}
