using IrisIde.Web.Batch;
using Microsoft.Extensions.Time.Testing;

namespace IrisIde.Tests.Batch;

public sealed class RunEndWaitersTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stored_end_wakes_every_watch_of_that_run_and_no_other()
    {
        var waiters = new RunEndWaiters();
        var time = new FakeTimeProvider();
        var run = Guid.CreateVersion7();
        using var first = waiters.Start(run);
        using var second = waiters.Start(run);
        using var other = waiters.Start(Guid.CreateVersion7());
        var firstWait = first.WaitAsync(TimeSpan.FromHours(1), time, CancellationToken.None);
        var secondWait = second.WaitAsync(TimeSpan.FromHours(1), time, CancellationToken.None);
        var otherWait = other.WaitAsync(TimeSpan.FromHours(1), time, CancellationToken.None);

        waiters.Notify(run);

        await Task.WhenAll(firstWait, secondWait).WaitAsync(Timeout);
        Assert.False(otherWait.IsCompleted);
    }

    [Fact]
    public async Task An_end_stored_between_the_start_of_a_watch_and_its_wait_is_not_missed()
    {
        var waiters = new RunEndWaiters();
        var run = Guid.CreateVersion7();
        using var watch = waiters.Start(run);

        waiters.Notify(run);

        await watch.WaitAsync(TimeSpan.FromHours(1), new FakeTimeProvider(), CancellationToken.None).WaitAsync(Timeout);
    }

    [Fact]
    public async Task A_wait_with_no_end_stored_here_returns_after_its_timeout_to_look_at_the_row()
    {
        var waiters = new RunEndWaiters();
        var time = new FakeTimeProvider();
        using var watch = waiters.Start(Guid.CreateVersion7());
        var wait = watch.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None);
        Assert.False(wait.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(1));

        await wait.WaitAsync(Timeout);
    }

    [Fact]
    public async Task After_a_signal_was_seen_a_watch_waits_its_timeout_instead_of_spinning()
    {
        var waiters = new RunEndWaiters();
        var time = new FakeTimeProvider();
        var run = Guid.CreateVersion7();
        using var watch = waiters.Start(run);
        waiters.Notify(run);
        await watch.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None).WaitAsync(Timeout);

        var again = watch.WaitAsync(TimeSpan.FromSeconds(1), time, CancellationToken.None);
        Assert.False(again.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        await again.WaitAsync(Timeout);
    }

    [Fact]
    public void Watches_leave_nothing_behind_once_disposed_or_notified()
    {
        var waiters = new RunEndWaiters();
        var notified = Guid.CreateVersion7();
        var abandoned = Guid.CreateVersion7();
        using (waiters.Start(notified))
        using (waiters.Start(abandoned))
        using (waiters.Start(abandoned))
        {
            Assert.Equal(2, waiters.WatchedRuns);
            waiters.Notify(notified);
            Assert.Equal(1, waiters.WatchedRuns);
        }

        Assert.Equal(0, waiters.WatchedRuns);

        // A watch begun after the end was signalled has an entry of its own, which the old watches' disposal kept.
        using var late = waiters.Start(notified);
        Assert.Equal(1, waiters.WatchedRuns);
    }
}
