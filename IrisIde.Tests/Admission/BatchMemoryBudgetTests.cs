using IrisIde.Execution.Admission;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Admission;

public sealed class BatchMemoryBudgetTests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Jobs_wait_until_their_grant_fits_so_running_jobs_never_hold_more_than_the_budget()
    {
        var budget = Create(budgetBytes: 1024 * MiB);
        var first = await budget.AcquireAsync(600 * MiB, CancellationToken.None);
        var second = budget.AcquireAsync(600 * MiB, CancellationToken.None).AsTask();

        Assert.False(second.IsCompleted);
        Assert.Equal(424 * MiB, budget.AvailableBytes);
        first.Dispose();
        (await second.WaitAsync(Timeout)).Dispose();
        Assert.Equal(1024 * MiB, budget.AvailableBytes);
    }

    [Fact]
    public async Task A_large_job_at_the_head_is_not_starved_by_small_ones_behind_it()
    {
        var budget = Create(budgetBytes: 1024 * MiB);
        var running = await budget.AcquireAsync(512 * MiB, CancellationToken.None);
        var large = budget.AcquireAsync(1024 * MiB, CancellationToken.None).AsTask();
        var small = budget.AcquireAsync(64 * MiB, CancellationToken.None).AsTask();

        // 512 MiB are free and the small job would fit, but it queued behind the large one.
        Assert.False(small.IsCompleted);
        running.Dispose();
        var largeGrant = await large.WaitAsync(Timeout);
        Assert.False(small.IsCompleted);
        largeGrant.Dispose();
        (await small.WaitAsync(Timeout)).Dispose();
    }

    [Fact]
    public async Task A_cancelled_wait_takes_nothing_and_lets_the_next_in()
    {
        var budget = Create(budgetBytes: 1024 * MiB);
        var running = await budget.AcquireAsync(1000 * MiB, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(900 * MiB, cancel.Token).AsTask();
        var next = budget.AcquireAsync(20 * MiB, CancellationToken.None).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Timeout));
        (await next.WaitAsync(Timeout)).Dispose();
        running.Dispose();
        Assert.Equal(1024 * MiB, budget.AvailableBytes);
    }

    [Fact]
    public void A_compiled_job_weighs_its_compile_limit_an_interpreted_one_its_grant()
    {
        var budget = Create(budgetBytes: 8192 * MiB);
        var limits = new BatchLimits(10, 5, 256 * MiB, MiB);

        Assert.Equal(512 * MiB, budget.WeightOf(Job("c", limits)));
        Assert.Equal(256 * MiB, budget.WeightOf(Job("python", limits)));
        Assert.Equal(1024 * MiB, budget.WeightOf(Job("c", limits with { MemoryBytes = 1024 * MiB })));
        Assert.Equal(256 * MiB, budget.WeightOf(Job("python", null)));
    }

    [Fact]
    public void A_budget_larger_than_the_runs_may_hold_stops_start_up_with_the_numbers()
    {
        var result = Validate(new BatchJobOptions { MemoryBudgetBytes = 4096 * MiB }, capacityBytes: 2048 * MiB);

        Assert.True(result.Failed);
        Assert.Contains("MemoryBudgetBytes is 4096 MiB but all runs of this worker may hold 2048 MiB", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_budget_smaller_than_one_job_may_be_granted_stops_start_up()
    {
        var result = Validate(new BatchJobOptions { MemoryBudgetBytes = 512 * MiB }, capacityBytes: 2048 * MiB);

        Assert.True(result.Failed);
        Assert.Contains("less than one job may be granted (1024 MiB", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Concurrent_jobs_beyond_what_the_memory_could_ever_hold_stop_start_up()
    {
        var result = Validate(new BatchJobOptions { ConcurrentJobs = 500 }, capacityBytes: 2048 * MiB);

        Assert.True(result.Failed);
        Assert.Contains("ConcurrentJobs is 500", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(Validate(new BatchJobOptions(), capacityBytes: 2048 * MiB).Succeeded);
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(BatchJobOptions options, long capacityBytes) =>
        new BatchCapacityValidator(new RunCapacity(capacityBytes, 10_000), Options.Create(new ExecutionOptions())).Validate(null, options);

    private static RunRequested Job(string language, BatchLimits? limits) =>
        new(Guid.NewGuid(), language, [new BatchFile("main", "x")], null, limits, DateTime.UtcNow);

    private static BatchMemoryBudget Create(long budgetBytes) => new(
        Options.Create(new BatchJobOptions { MemoryBudgetBytes = budgetBytes }),
        Options.Create(new ExecutionOptions()),
        new RunCapacity(budgetBytes * 2, 10_000),
        LanguageCatalog.LoadEmbedded());
}
