using System.Globalization;
using System.Net;
using System.Text.Json;
using IrisIde.Execution.Batch;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Batch;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Workers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Workers;

/// <summary>
/// Worker heartbeats end to end: real <c>IrisIde.Worker worker</c> processes on a real RabbitMQ (a virtual
/// host per test), real web apps, and the embedded runner of the in-memory mode. Heartbeats every second.
/// </summary>
[Trait("Needs", "RabbitMQ")]
public sealed class WorkerRegistryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Sandbox uids of this class's apps: 65300–65307 and 65308–65315 for two replicas, 65316–65323 for the
    /// worker; the health tests have 65324–65329 (the 65300–65330 range is these suites' alone, and ranges of
    /// apps that run at once must not overlap: each sweeps its range at start).
    /// </summary>
    private const int SandboxUid = 65300;

    private static Dictionary<string, string?> AppSettings(int uid, Uri? rabbitMq)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Uid"] = uid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "8",
            ["Iris:Workers:HeartbeatSeconds"] = "1",
        };
        if (rabbitMq is not null)
        {
            settings["ConnectionStrings:RabbitMq"] = rabbitMq.ToString();
        }

        return settings;
    }

    private static Dictionary<string, string> WorkerSettings(int concurrency) => new()
    {
        ["Iris:Workers:HeartbeatSeconds"] = "1",
        ["Iris:Batch:ConcurrentJobs"] = concurrency.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:Uid"] = (SandboxUid + 16).ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "8",
    };

    [Fact]
    public async Task A_worker_process_is_listed_alive_with_its_concurrency_and_missing_soon_after_it_is_killed()
    {
        await using var broker = await TestRabbitMqVirtualHost.CreateAsync();
        await using var app = await IrisWebApp.StartAsync(AppSettings(SandboxUid, broker.Uri));
        await using var worker = await WorkerProcess.StartAsync(broker.Uri, "heartbeat-worker", WorkerSettings(3));
        var registry = app.Services.GetRequiredService<WorkerRegistry>();

        var alive = await WaitForAsync(registry, "heartbeat-worker", WorkerStates.Alive);
        var gauge = registry.AliveWorkers();
        await worker.KillAsync();
        var missing = await WaitForAsync(registry, "heartbeat-worker", WorkerStates.Missing);

        Assert.Equal(3, alive.Concurrency);
        Assert.Equal(0, alive.InFlight);
        Assert.False(alive.InProcess);
        Assert.Equal(Environment.MachineName, alive.HostName);
        Assert.False(string.IsNullOrEmpty(alive.Version));
        Assert.Contains(("heartbeat-worker", 0), gauge);
        Assert.True(alive.LastSeenUtc <= missing.LastSeenUtc);
        Assert.DoesNotContain(registry.AliveWorkers(), w => w.WorkerId == "heartbeat-worker");
    }

    /// <summary>
    /// A worker stopped as an orchestrator stops it (SIGTERM) says goodbye: the replica stops listing it, where a
    /// silent one stays listed as missing for <see cref="WorkerHeartbeatOptions.ForgetAfterMinutes"/> (ten).
    /// </summary>
    [Fact]
    public async Task A_worker_stopped_gracefully_is_no_longer_listed()
    {
        await using var broker = await TestRabbitMqVirtualHost.CreateAsync();
        await using var app = await IrisWebApp.StartAsync(AppSettings(SandboxUid, broker.Uri));
        await using var worker = await WorkerProcess.StartAsync(broker.Uri, "leaving-worker", WorkerSettings(1));
        var registry = app.Services.GetRequiredService<WorkerRegistry>();
        await WaitForAsync(registry, "leaving-worker", WorkerStates.Alive);

        Assert.Equal(0, await worker.TerminateAsync(Timeout));

        var deadline = DateTime.UtcNow + Timeout;
        while (registry.List().Any(w => w.WorkerId == "leaving-worker") && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.DoesNotContain(registry.List(), w => w.WorkerId == "leaving-worker");
        Assert.Contains("leaving-worker stops: told the web replicas", worker.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_web_replicas_on_one_broker_both_see_the_same_worker()
    {
        await using var broker = await TestRabbitMqVirtualHost.CreateAsync();
        await using var first = await IrisWebApp.StartAsync(AppSettings(SandboxUid, broker.Uri));
        await using var second = await IrisWebApp.StartAsync(AppSettings(SandboxUid + 8, broker.Uri));
        await using var worker = await WorkerProcess.StartAsync(broker.Uri, "shared-worker", WorkerSettings(2));

        var seenByFirst = await WaitForAsync(first.Services.GetRequiredService<WorkerRegistry>(), "shared-worker", WorkerStates.Alive);
        var seenBySecond = await WaitForAsync(second.Services.GetRequiredService<WorkerRegistry>(), "shared-worker", WorkerStates.Alive);
        // Seeing the worker is not enough: replicas sharing one queue would each get every other heartbeat and
        // still see it alive. Each must have a queue of its own (the broker copies every heartbeat into each),
        // gone a minute after its replica (x-expires: MassTransit's temporary endpoint).
        var table = await TestServices.RunToolAsync("rabbitmqctl", "-q", "list_queues", "-p", broker.Name, "--no-table-headers", "name", "auto_delete", "durable", "consumers", "arguments");
        var heartbeatQueues = table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('\t'))
            .Where(c => c[0].StartsWith("worker-heartbeat", StringComparison.Ordinal)).ToList();

        Assert.Equal(2, seenByFirst.Concurrency);
        Assert.Equal(2, seenBySecond.Concurrency);
        Assert.NotEqual(first.Services.GetRequiredService<WebReplica>().Id, second.Services.GetRequiredService<WebReplica>().Id);
        Assert.Equal(
            new[] { first, second }.Select(a => $"worker-heartbeat-{a.Services.GetRequiredService<WebReplica>().Id}").Order(StringComparer.Ordinal),
            heartbeatQueues.Select(q => q[0]).Order(StringComparer.Ordinal));
        Assert.All(heartbeatQueues, q => Assert.Equal(["false", "false", "1", "[{\"x-expires\",60000}]"], q[1..]));
    }

    [Fact]
    public async Task The_in_memory_app_lists_its_in_process_runner_as_its_one_worker()
    {
        await using var app = await IrisWebApp.StartAsync(AppSettings(SandboxUid, rabbitMq: null));
        var registry = app.Services.GetRequiredService<WorkerRegistry>();
        var batch = app.Services.GetRequiredService<IOptions<BatchJobOptions>>().Value;

        var self = await WaitForAsync(registry, batch.ResolveWorkerId(), WorkerStates.Alive);
        using var http = app.CreateHttpClient();
        await BatchApiTests.SubmitSeedAsync(http, "python", "import time\ntime.sleep(4)\n");
        var busy = await WaitForAsync(registry, batch.ResolveWorkerId(), WorkerStates.Alive, w => w.InFlight == 1);

        Assert.True(self.InProcess);
        Assert.Equal(batch.ConcurrentJobs, self.Concurrency);
        Assert.Single(registry.List());
        Assert.True(busy.StartedAtUtc <= busy.LastSeenUtc);
    }

    [Fact]
    public async Task The_workers_api_answers_admins_with_the_list_and_refuses_everyone_else()
    {
        await using var app = await IrisWebApp.StartAsync(AppSettings(SandboxUid, rabbitMq: null));
        var batch = app.Services.GetRequiredService<IOptions<BatchJobOptions>>().Value;
        await WaitForAsync(app.Services.GetRequiredService<WorkerRegistry>(), batch.ResolveWorkerId(), WorkerStates.Alive);
        var adminEmail = TestAccounts.NewEmail("admin");
        var studentEmail = TestAccounts.NewEmail("student");
        await TestAccounts.AddAsync(app, adminEmail, IrisRoles.Admin);
        await TestAccounts.AddAsync(app, studentEmail, IrisRoles.Student);
        using var admin = new AccountTestClient(app.BaseAddress);
        using var student = new AccountTestClient(app.BaseAddress);
        using var anonymous = new AccountTestClient(app.BaseAddress);
        await admin.SignInOrFailAsync(adminEmail, TestAccounts.Password);
        await student.SignInOrFailAsync(studentEmail, TestAccounts.Password);

        using var forAdmin = await admin.Http.GetAsync(WorkersApi.Route).WaitAsync(Timeout);
        using var forStudent = await student.Http.GetAsync(WorkersApi.Route).WaitAsync(Timeout);
        using var forAnonymous = await anonymous.Http.GetAsync(WorkersApi.Route).WaitAsync(Timeout);
        var body = JsonDocument.Parse(await AccountTestClient.BodyAsync(forAdmin)).RootElement;

        Assert.Equal(HttpStatusCode.OK, forAdmin.StatusCode);
        var listed = Assert.Single(body.GetProperty("workers").EnumerateArray());
        Assert.Equal(batch.ResolveWorkerId(), listed.GetProperty("workerId").GetString());
        Assert.Equal(WorkerStates.Alive, listed.GetProperty("state").GetString());
        Assert.Equal(batch.ConcurrentJobs, listed.GetProperty("concurrency").GetInt32());
        Assert.True(listed.GetProperty("inProcess").GetBoolean());
        Assert.Equal(HttpStatusCode.Forbidden, forStudent.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, forAnonymous.StatusCode);
    }

    private static async Task<WorkerStatus> WaitForAsync(WorkerRegistry registry, string workerId, string state, Func<WorkerStatus, bool>? also = null)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (registry.List().FirstOrDefault(w => w.WorkerId == workerId && w.State == state && (also is null || also(w))) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"worker {workerId} not {state} within {Timeout.TotalSeconds} s; listed: {string.Join(", ", registry.List())}");
            }

            await Task.Delay(100);
        }
    }
}
