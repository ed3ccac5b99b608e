using System.Text;
using System.Text.Json;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Persistence;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace IrisIde.Tests.Batch;

/// <summary>
/// The production shape on a real RabbitMQ broker: the web app only queues jobs and stores results, and
/// real <c>IrisIde.Worker worker</c> processes run them. Each fixture has its own virtual host.
/// </summary>
public sealed class RabbitMqBatchFixture : IAsyncLifetime
{
    private readonly IReadOnlyDictionary<string, string?> _appSettings;
    private TestRabbitMqVirtualHost? _broker;
    private IrisWebApp? _app;

    public RabbitMqBatchFixture()
        : this(new Dictionary<string, string?>())
    {
    }

    /// <summary>With extra settings for the web app (xunit makes collection fixtures with the public constructor).</summary>
    internal RabbitMqBatchFixture(IReadOnlyDictionary<string, string?> appSettings) => _appSettings = appSettings;

    public TestRabbitMqVirtualHost Broker => _broker ?? throw new InvalidOperationException("not started");

    public IrisWebApp App => _app ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _broker = await TestRabbitMqVirtualHost.CreateAsync();
        _app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(_appSettings) { ["ConnectionStrings:RabbitMq"] = _broker.Uri.ToString() });
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_broker is not null)
        {
            await _broker.DisposeAsync();
        }
    }

    public Task<WorkerProcess> StartWorkerAsync(string workerId, IReadOnlyDictionary<string, string>? settings = null) =>
        WorkerProcess.StartAsync(Broker.Uri, workerId, settings);

    /// <summary>Stores a queued run and publishes its job straight to the bus, the way a publisher that skips the API's checks would.</summary>
    public async Task<Guid> PublishUncheckedJobAsync(string language, string code)
    {
        using var scope = App.Services.CreateScope();
        var record = new RunRecord
        {
            Id = Guid.CreateVersion7(),
            Kind = RunKind.Batch,
            Status = RunRecordStatus.Queued,
            Language = language,
            FilesJson = "[]",
            LimitsJson = "null",
            QueuedAtUtc = DateTime.UtcNow,
        };
        await scope.ServiceProvider.GetRequiredService<RunStore>().AddAsync(record, CancellationToken.None);
        var jobs = await scope.ServiceProvider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(BatchTransport.JobQueue);
        await jobs.Send(
            new RunRequested(record.Id, language, [new BatchFile(string.Empty, code)], null, null, record.QueuedAtUtc));
        return record.Id;
    }
}

[CollectionDefinition(Name)]
public sealed class RabbitMqBatchCollection : ICollectionFixture<RabbitMqBatchFixture>
{
    public const string Name = "Batch runs on RabbitMQ";
}

[Collection(RabbitMqBatchCollection.Name)]
[Trait("Needs", "RabbitMQ")]
public sealed class RabbitMqBatchTests(RabbitMqBatchFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Theory]
    [MemberData(nameof(BatchApiTests.HelloPrograms), MemberType = typeof(BatchApiTests))]
    public async Task Seed_api_round_trips_hello_through_a_worker_process(string language, string code)
    {
        await using var worker = await fixture.StartWorkerAsync($"hello-{language}");
        using var http = fixture.App.CreateHttpClient();

        var taskId = await BatchApiTests.SubmitSeedAsync(http, language, code);
        var result = await BatchApiTests.WaitForSeedResultAsync(http, taskId);
        var run = await BatchApiTests.WaitForRunAsync(http, taskId);

        Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        Assert.Equal("Hello from Celery!\n", result.GetProperty("result").GetProperty("output").GetString());
        Assert.Equal($"hello-{language}", run.GetProperty("workerId").GetString());
    }

    [Fact]
    public async Task A_job_queued_before_any_worker_ever_started_waits_for_one()
    {
        // A virtual host no worker has seen: the job queue exists only if queueing the job declared it.
        await using var broker = await TestRabbitMqVirtualHost.CreateAsync();
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?> { ["ConnectionStrings:RabbitMq"] = broker.Uri.ToString() });
        using var http = app.CreateHttpClient();

        var taskId = await BatchApiTests.SubmitSeedAsync(http, "python", "print('waited')");
        var waiting = await broker.CountMessagesAsync("run-requested");
        var before = await BatchApiTests.GetSeedResultAsync(http, taskId);
        await using var worker = await WorkerProcess.StartAsync(broker.Uri, "first-ever");
        var after = await BatchApiTests.WaitForSeedResultAsync(http, taskId);

        Assert.Equal(1, waiting);
        Assert.Equal("PENDING", before.GetProperty("status").GetString());
        Assert.Equal("SUCCESS", after.GetProperty("status").GetString());
        Assert.Equal("waited\n", after.GetProperty("result").GetProperty("output").GetString());
    }

    [Fact]
    public async Task A_job_in_an_unknown_language_fails_with_the_reason_and_lands_in_the_error_queue()
    {
        await using var worker = await fixture.StartWorkerAsync("poison-language");
        using var http = fixture.App.CreateHttpClient();
        var errorsBefore = await fixture.Broker.CountMessagesAsync("run-requested_error");

        var id = await fixture.PublishUncheckedJobAsync("cobol", "DISPLAY 'HI'.");
        var run = await BatchApiTests.WaitForRunAsync(http, id.ToString());
        var next = await BatchApiTests.WaitForSeedResultAsync(http, await BatchApiTests.SubmitSeedAsync(http, "python", "print('next')"));

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("unsupported language 'cobol'", run.GetProperty("failureReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(errorsBefore + 1, await fixture.Broker.CountMessagesAsync("run-requested_error"));
        Assert.Equal("SUCCESS", next.GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_message_that_is_not_a_job_lands_in_the_error_queue_and_the_worker_goes_on()
    {
        await using var worker = await fixture.StartWorkerAsync("poison-body");
        using var http = fixture.App.CreateHttpClient();
        var errorsBefore = await fixture.Broker.CountMessagesAsync("run-requested_error");

        await PublishRawAsync("run-requested", "{ this is not json");
        await PublishRawAsync("run-requested", """{"messageType":["urn:message:IrisIde.Execution.Batch.Contracts:RunRequested"],"message":{"language":"python"}}""");
        var next = await BatchApiTests.WaitForSeedResultAsync(http, await BatchApiTests.SubmitSeedAsync(http, "python", "print('still here')"));
        var errors = await WaitForCountAsync("run-requested_error", errorsBefore + 2);

        Assert.Equal(errorsBefore + 2, errors);
        Assert.Equal("SUCCESS", next.GetProperty("status").GetString());
        Assert.Equal("still here\n", next.GetProperty("result").GetProperty("output").GetString());
        Assert.False(worker.HasExited);
    }

    [Fact]
    public async Task A_worker_killed_mid_job_loses_nothing_the_job_is_redelivered_and_completes_once()
    {
        var victim = await fixture.StartWorkerAsync("victim");
        using var http = fixture.App.CreateHttpClient();

        var taskId = await BatchApiTests.SubmitSeedAsync(http, "python", "import time\ntime.sleep(2)\nprint('survived')");
        await WaitForStatusAsync(http, taskId, "running");
        await victim.KillAsync();
        await victim.DisposeAsync();
        await using var rescuer = await fixture.StartWorkerAsync("rescuer");
        var run = await BatchApiTests.WaitForRunAsync(http, taskId);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal("survived\n", run.GetProperty("result").GetProperty("stdout").GetString());
        Assert.Equal("rescuer", run.GetProperty("workerId").GetString());
    }

    [Fact]
    public async Task Sigterm_drains_the_worker_finishes_its_running_job_and_exits_0()
    {
        var worker = await fixture.StartWorkerAsync("drained");
        using var http = fixture.App.CreateHttpClient();

        var taskId = await BatchApiTests.SubmitSeedAsync(http, "python", "import time\ntime.sleep(2)\nprint('finished')");
        await WaitForStatusAsync(http, taskId, "running");
        var exitCode = await worker.TerminateAsync(Timeout);
        var run = await BatchApiTests.WaitForRunAsync(http, taskId);
        await worker.DisposeAsync();

        Assert.Equal(0, exitCode);
        Assert.Equal("completed", run.GetProperty("status").GetString());
        Assert.Equal("finished\n", run.GetProperty("result").GetProperty("stdout").GetString());
        Assert.Equal("drained", run.GetProperty("workerId").GetString());
        Assert.Contains("Worker drained is stopping", worker.Output, StringComparison.Ordinal);
    }

    private static async Task<JsonElement> GetRunAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync(new Uri($"/api/v1/runs/{id}", UriKind.Relative)).WaitAsync(Timeout);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }

    private async Task PublishRawAsync(string queue, string body)
    {
        var factory = new ConnectionFactory { Uri = fixture.Broker.Uri };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true, MessageId = Guid.NewGuid().ToString() };
        await channel.BasicPublishAsync(string.Empty, queue, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
    }

    private async Task<int> WaitForCountAsync(string queue, int expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        int count;
        while ((count = await fixture.Broker.CountMessagesAsync(queue)) < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        return count;
    }

    private static async Task WaitForStatusAsync(HttpClient http, string id, string status)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var run = await GetRunAsync(http, id);
            var current = run.GetProperty("status").GetString();
            if (current == status)
            {
                return;
            }

            Assert.True(current is "queued" or "running" && DateTime.UtcNow < deadline, $"run {id} is {current}, waiting for {status}");
            await Task.Delay(50);
        }
    }
}
