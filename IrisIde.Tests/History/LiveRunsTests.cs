using IrisIde.Web.History;

namespace IrisIde.Tests.History;

/// <summary>The live-watch registry on its own: backlog, feeds, watcher counts, limits, the end.</summary>
public sealed class LiveRunsTests
{
    private static readonly LiveRunInfo Info = new(Guid.NewGuid(), "student-1", Guid.NewGuid().ToString(), "ide", "python", DateTime.UtcNow);

    [Fact]
    public async Task A_watcher_gets_what_was_shown_so_far_then_what_follows_then_the_end()
    {
        var live = new LiveRuns();
        var run = live.Open(Info);
        run.Publish("stdout", "Name? ", 5);

        using var watch = run.Watch()!;
        run.Publish("stdin", "Ann\n", 900);
        run.Publish("stdout", "Hi Ann\n", 905);
        run.End();

        Assert.Equal([new LiveChunk(5, "stdout", "Name? ")], watch.Backlog);
        Assert.False(watch.BacklogTrimmed);
        var fed = new List<LiveChunk>();
        await foreach (var chunk in watch.Feed.ReadAllAsync())
        {
            fed.Add(chunk);
        }

        Assert.Equal([new LiveChunk(900, "stdin", "Ann\n"), new LiveChunk(905, "stdout", "Hi Ann\n")], fed);
        Assert.Null(live.Find(Info.RunId));
        Assert.Null(run.Watch());
    }

    [Fact]
    public void The_backlog_keeps_the_newest_output_within_its_cap()
    {
        var run = new LiveRuns().Open(Info);
        var line = new string('x', 1023) + "\n";
        for (var i = 0; i < (LiveRun.BacklogBytes / 1024) + 10; i++)
        {
            run.Publish("stdout", line, i);
        }

        using var watch = run.Watch()!;

        Assert.True(watch.BacklogTrimmed);
        Assert.Equal(LiveRun.BacklogBytes / 1024, watch.Backlog.Count);
        Assert.Equal((LiveRun.BacklogBytes / 1024) + 9, watch.Backlog[^1].T);
    }

    [Fact]
    public void Watchers_are_counted_as_they_come_and_go_and_capped()
    {
        var live = new LiveRuns();
        var counts = new List<int>();
        live.WatchersChanged += (_, count) => counts.Add(count);
        var run = live.Open(Info);

        var watches = Enumerable.Range(0, LiveRun.MaxWatchers).Select(_ => run.Watch()!).ToList();
        var oneTooMany = run.Watch();
        watches[0].Dispose();
        watches[0].Dispose();
        run.End();
        watches[1].Dispose();

        Assert.Null(oneTooMany);
        Assert.Equal([.. Enumerable.Range(1, LiveRun.MaxWatchers), LiveRun.MaxWatchers - 1], counts);
    }

    [Fact]
    public async Task A_watcher_that_does_not_read_loses_its_oldest_chunks_and_never_holds_the_run_up()
    {
        var run = new LiveRuns().Open(Info);
        using var slow = run.Watch()!;

        for (var i = 0; i < LiveRun.FeedCapacity + 100; i++)
        {
            run.Publish("stdout", ".", i);
        }

        run.End();
        var fed = new List<LiveChunk>();
        await foreach (var chunk in slow.Feed.ReadAllAsync())
        {
            fed.Add(chunk);
        }

        Assert.Equal(LiveRun.FeedCapacity, fed.Count);
        Assert.Equal(100, fed[0].T);
        Assert.Equal(LiveRun.FeedCapacity + 99, fed[^1].T);
    }

    [Fact]
    public void Runs_are_listed_oldest_first_until_they_end()
    {
        var live = new LiveRuns();
        var older = live.Open(Info with { RunId = Guid.NewGuid(), StartedAtUtc = DateTime.UtcNow.AddMinutes(-5) });
        var newer = live.Open(Info with { RunId = Guid.NewGuid() });

        Assert.Equal([older, newer], live.List());
        older.End();
        Assert.Equal([newer], live.List());
    }
}
