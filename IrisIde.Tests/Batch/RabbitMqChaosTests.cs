using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace IrisIde.Tests.Batch;

/// <summary>
/// Nothing lost, nothing run to completion twice, under the failures a production queue sees: workers
/// killed with SIGKILL in the middle of jobs, and the broker restarted under load. Each test has its own
/// virtual host, web app and worker processes, and checks every job's own output.
/// </summary>
[Trait("Needs", "RabbitMQ")]
public sealed class RabbitMqChaosTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromMinutes(10);
    /// <summary>
    /// A grace period short enough that the health endpoints turn Unhealthy during a broker outage the test can
    /// wait out; production's is minutes.
    /// </summary>
    private const string EndpointGraceSeconds = "3";

    private static readonly Dictionary<string, string> WorkerSettings = new()
    {
        ["Iris:Batch:ConcurrentJobs"] = "8",
        ["Iris:Batch:EndpointGraceSeconds"] = EndpointGraceSeconds,

        // Every job marked running at once: with the default delay a job shorter than 500 ms is never seen running,
        // and on a quick day a victim finished its whole share unseen (CI 2026-12-03).
        ["Iris:Batch:StartedNoticeDelayMilliseconds"] = "0",
        ["Iris:Worker:HealthUrl"] = "http://127.0.0.1:0",
    };

    private readonly RabbitMqBatchFixture _environment = new(new Dictionary<string, string?>
    {
        ["Iris:Batch:EndpointGraceSeconds"] = EndpointGraceSeconds,

        // Delivery is tested here, not capacity: on a two-core machine shared with other test runs a hello
        // can wait longer than the batch default of 10 s for a core and end time_limit (seen under a load
        // average of 50), which would say nothing about the queue. The web app sets each job's limits when
        // it queues it; 60 s is the most a request may ask for.
        ["Iris:Limits:Batch:WallSeconds"] = "60",
    });
    private readonly List<WorkerProcess> _workers = [];

    private TestRabbitMqVirtualHost Broker => _environment.Broker;

    private IrisWebApp App => _environment.App;

    public Task InitializeAsync() => _environment.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            await worker.DisposeAsync();
        }

        await _environment.DisposeAsync();
    }

    [Fact]
    public async Task A_thousand_jobs_on_two_workers_one_killed_repeatedly_each_end_exactly_once()
    {
        var jobs = await SubmitAsync(1000);
        await StartWorkerAsync("steady");
        var victim = await StartWorkerAsync("victim-1");
        var killedMidJob = 0;

        for (var kill = 1; kill <= 3; kill++)
        {
            // Killed as soon as it is really working: it has finished some jobs and is running others.
            await WaitUntilWorkingAsync(victim.WorkerId, completed: 3);
            killedMidJob += await CountRunningOnAsync(victim.WorkerId);
            await victim.KillAsync();
            output.WriteLine($"killed {victim.WorkerId} (pid {victim.ProcessId}) with SIGKILL at {await CountTerminalAsync()} terminal jobs");
            victim = await StartWorkerAsync($"victim-{kill + 1}");
        }

        await WaitForTerminalAsync(jobs.Count);

        Assert.True(killedMidJob > 0, "no kill hit a running job, so the test proved nothing about redelivery");
        Assert.True(await QueryAsync(db => db.Runs.CountAsync(r => r.WorkerId != null && r.WorkerId.StartsWith("victim-"))) >= 30, "the killed workers did not share the load");
        await AssertEveryJobEndedOnceWithItsOwnOutputAsync(jobs);
    }

    [Fact]
    public Task A_broker_restart_under_load_loses_no_job() =>
        RunThroughBrokerOutageAsync("stop_app", TestRabbitMqBroker.StopAppAsync, TestRabbitMqBroker.StartAppAsync);

    [Fact]
    public Task A_broker_process_killed_under_load_loses_no_job() =>
        RunThroughBrokerOutageAsync("SIGKILL", TestRabbitMqBroker.KillServerAsync, TestRabbitMqBroker.StartServerAsync);

    /// <summary>
    /// Jobs are running on two workers when the broker goes away. The web app and both workers report Unhealthy
    /// once it has been away longer than their grace period, and Healthy again after it is back without being
    /// restarted themselves; then more jobs are queued (the web app's publisher after the outage) and every job,
    /// before and after, ends exactly once with its own output.
    /// </summary>
    private async Task RunThroughBrokerOutageAsync(string how, Func<Task> stop, Func<Task> start)
    {
        var jobs = new Dictionary<Guid, int>(await SubmitAsync(500));
        var workers = new[] { await StartWorkerAsync("first"), await StartWorkerAsync("second") };
        var healthUris = workers.Select(w => w.HealthUri ?? throw new InvalidOperationException($"{w.WorkerId} has no health endpoint:\n{w.Output}"))
            .Prepend(new Uri(App.BaseAddress, "/healthz"))
            .ToList();
        await WaitForHealthAsync(healthUris, "Healthy");

        await WaitForTerminalAsync(jobs.Count / 4);
        await stop();
        output.WriteLine($"broker stopped ({how}) at {await CountTerminalAsync()} terminal jobs");
        await WaitForHealthAsync(healthUris, "Unhealthy");
        output.WriteLine($"web app and workers report Unhealthy at {await CountTerminalAsync()} terminal jobs");
        await start();
        output.WriteLine($"broker started again at {await CountTerminalAsync()} terminal jobs");
        await WaitForHealthAsync(healthUris, "Healthy");

        foreach (var (id, number) in await SubmitAsync(100, first: jobs.Count))
        {
            jobs.Add(id, number);
        }

        await WaitForTerminalAsync(jobs.Count);

        await AssertEveryJobEndedOnceWithItsOwnOutputAsync(jobs);
        Assert.All(workers, w => Assert.False(w.HasExited, $"{w.WorkerId} exited:\n{w.Output}"));
    }

    /// <summary>Waits until every health endpoint answers <paramref name="status"/> (Unhealthy is a 503).</summary>
    private static async Task WaitForHealthAsync(IReadOnlyList<Uri> endpoints, string status)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var deadline = DateTime.UtcNow + LoadTimeout;
        foreach (var endpoint in endpoints)
        {
            string current;
            while ((current = await ReadHealthAsync(http, endpoint)) != status)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{endpoint} still answers {current} after {LoadTimeout}, waiting for {status}");
                await Task.Delay(200);
            }
        }
    }

    private static async Task<string> ReadHealthAsync(HttpClient http, Uri endpoint)
    {
        using var response = await http.GetAsync(endpoint);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(
            response.StatusCode == (body == "Unhealthy" ? System.Net.HttpStatusCode.ServiceUnavailable : System.Net.HttpStatusCode.OK),
            $"{endpoint} answered {(int)response.StatusCode} {body}");
        return body;
    }

    /// <summary>Queues <paramref name="count"/> jobs (the seed's language, python) through the seed API; each prints its own number.</summary>
    private async Task<IReadOnlyDictionary<Guid, int>> SubmitAsync(int count, int first = 0)
    {
        using var http = App.CreateHttpClient();
        var jobs = new ConcurrentDictionary<Guid, int>();
        await Parallel.ForEachAsync(Enumerable.Range(first, count), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, cancellationToken) =>
        {
            using var response = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = $"print('job-{i}')" }, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            jobs[Guid.Parse(json.RootElement.GetProperty("task_id").GetString()!)] = i;
        });
        Assert.Equal(count, jobs.Count);
        return jobs;
    }

    private async Task<WorkerProcess> StartWorkerAsync(string workerId)
    {
        // Two workers at the default 50 jobs each would run 100 sandboxes on the CI machine's two cores, and
        // under that much contention (plus a broker restarting) a hello run can wait out its 10 s wall limit
        // for CPU. What is tested here is delivery, not capacity, so each worker runs 8 at once.
        var worker = await _environment.StartWorkerAsync(workerId, WorkerSettings);
        _workers.Add(worker);
        return worker;
    }

    private async Task<T> QueryAsync<T>(Func<IrisDbContext, Task<T>> query)
    {
        using var scope = App.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<IrisDbContext>());
    }

    private Task<int> CountTerminalAsync() =>
        QueryAsync(db => db.Runs.CountAsync(r => r.Status == RunRecordStatus.Completed || r.Status == RunRecordStatus.Failed));

    private Task<int> CountRunningOnAsync(string workerId) =>
        QueryAsync(db => db.Runs.CountAsync(r => r.Status == RunRecordStatus.Running && r.WorkerId == workerId));

    /// <summary>Waits until <paramref name="workerId"/> has completed <paramref name="completed"/> jobs and is running at least one.</summary>
    private async Task WaitUntilWorkingAsync(string workerId, int completed)
    {
        var deadline = DateTime.UtcNow + LoadTimeout;
        while (true)
        {
            var done = await QueryAsync(db => db.Runs.CountAsync(r => r.Status == RunRecordStatus.Completed && r.WorkerId == workerId));
            if (done >= completed && await CountRunningOnAsync(workerId) > 0)
            {
                return;
            }

            var remaining = await QueryAsync(db => db.Runs.CountAsync(r => r.Status == RunRecordStatus.Queued || r.Status == RunRecordStatus.Running));
            Assert.True(remaining > 0, $"every job ended before {workerId} was working ({done} completed)");
            Assert.True(DateTime.UtcNow < deadline, $"{workerId} completed {done} jobs within {LoadTimeout}");
            await Task.Delay(50);
        }
    }

    private async Task WaitForTerminalAsync(int count)
    {
        var deadline = DateTime.UtcNow + LoadTimeout;
        int terminal;
        while ((terminal = await CountTerminalAsync()) < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {terminal} of {count} jobs ended within {LoadTimeout}");
            await Task.Delay(200);
        }
    }

    private async Task AssertEveryJobEndedOnceWithItsOwnOutputAsync(IReadOnlyDictionary<Guid, int> jobs)
    {
        var records = await QueryAsync(db => db.Runs.AsNoTracking().ToListAsync());

        Assert.Equal(jobs.Count, records.Count);
        var wrong = records
            .Where(r => r.Status != RunRecordStatus.Completed || r.Verdict != "ok" || r.Stdout != $"job-{jobs[r.Id]}\n")
            .Select(r => $"{jobs[r.Id]}: {r.Status} {r.Verdict} '{r.Stdout}' {r.FailureReason}")
            .ToList();
        Assert.True(wrong.Count == 0, $"{wrong.Count} job(s) did not end with their own output:\n{string.Join('\n', wrong.Take(20))}");
        Assert.Equal(0, await Broker.CountMessagesAsync("run-requested"));
        Assert.Equal(0, await Broker.CountMessagesAsync("run-requested_error"));
        output.WriteLine(string.Join(", ", records.GroupBy(r => r.WorkerId).OrderBy(g => g.Key).Select(g => $"{g.Key}: {g.Count()}")));
    }
}
