using IrisIde.Execution;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Batch;

/// <summary>
/// A worker says a job started (<see cref="RunStarted"/>) only once it has run for
/// <c>Iris:Batch:StartedNoticeDelayMilliseconds</c>: the job consumer on MassTransit's in-memory test
/// harness, over the real pipeline and bubblewrap sandbox, with each test's own delay.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class StartedNoticeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>How long the bus must be quiet before the harness says a message was not published.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task A_job_over_before_the_delay_sends_only_its_result_which_says_when_it_started()
    {
        await using var worker = await HarnessAsync(delayMilliseconds: 60_000);

        var jobId = await worker.SubmitAsync("print('hello')");
        var completed = await worker.CompletedAsync(jobId);

        Assert.Equal("ok", completed.Verdict);
        Assert.False(worker.Harness.Published.Select<RunStarted>(m => m.Context.Message.JobId == jobId).Any(), "a job shorter than the delay said it started");
        Assert.InRange(completed.StartedAtUtc, completed.FinishedAtUtc.AddSeconds(-60), completed.FinishedAtUtc);
    }

    [Fact]
    public async Task With_no_delay_every_job_says_it_started_before_its_result()
    {
        await using var worker = await HarnessAsync(delayMilliseconds: 0);

        var jobId = await worker.SubmitAsync("print('hello')");
        var completed = await worker.CompletedAsync(jobId);

        var started = worker.Harness.Published.Select<RunStarted>(m => m.Context.Message.JobId == jobId).First();
        var result = worker.Harness.Published.Select<RunCompleted>(m => m.Context.Message.JobId == jobId).First();
        Assert.True(started.StartTime <= result.StartTime, "the result was published before the started notice");
        Assert.Equal(completed.StartedAtUtc, started.Context.Message.StartedAtUtc);
    }

    [Fact]
    public async Task A_job_running_past_the_delay_says_it_started_while_it_still_runs()
    {
        await using var worker = await HarnessAsync(delayMilliseconds: 200);

        var jobId = await worker.SubmitAsync("import time\ntime.sleep(6)\nprint('done')");
        var completed = await worker.CompletedAsync(jobId);

        // The program sleeps 6 s after the job started, so a notice sent before then was sent while it ran.
        // (The harness's Any waits for the whole bus to go quiet, so it cannot watch this as it happens.)
        var notice = worker.Harness.Published.Select<RunStarted>(m => m.Context.Message.JobId == jobId).First();
        Assert.Equal("ok", completed.Verdict);
        Assert.True(notice.StartTime < completed.StartedAtUtc.AddSeconds(6), $"the started notice was sent at {notice.StartTime:O}, after the program's end (started {completed.StartedAtUtc:O})");
        Assert.Equal(completed.StartedAtUtc, notice.Context.Message.StartedAtUtc);
    }

    private static async Task<Worker> HarnessAsync(int delayMilliseconds)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:CgroupParent"] = "iris-consumer-tests",
            ["Iris:Batch:StartedNoticeDelayMilliseconds"] = delayMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddBubblewrapSandbox();
        services.AddBatchOptions(configuration);
        services.AddMassTransitTestHarness(bus =>
        {
            bus.SetTestTimeouts(testTimeout: Timeout, testInactivityTimeout: Quiet);
            bus.AddRunConsumers();
        });
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start().WaitAsync(Timeout);
        return new Worker(provider, harness);
    }

    private sealed class Worker(ServiceProvider provider, ITestHarness harness) : IAsyncDisposable
    {
        public ITestHarness Harness => harness;

        public async Task<Guid> SubmitAsync(string python)
        {
            var jobId = Guid.CreateVersion7();
            await harness.Bus.Publish(new RunRequested(jobId, "python", [new BatchFile("main.py", python)], null, null, DateTime.UtcNow)).WaitAsync(Timeout);
            return jobId;
        }

        public async Task<RunCompleted> CompletedAsync(Guid jobId)
        {
            Assert.True(await harness.Published.Any<RunCompleted>(m => m.Context.Message.JobId == jobId).WaitAsync(Timeout), "no RunCompleted was published");
            return harness.Published.Select<RunCompleted>(m => m.Context.Message.JobId == jobId).First().Context.Message;
        }

        public async ValueTask DisposeAsync()
        {
            await harness.Stop().WaitAsync(Timeout);
            await provider.DisposeAsync();
        }
    }
}
