using IrisIde.Execution.Sandboxing.Bubblewrap;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>How often supervision reads a run's CPU time: as often as the limit could be crossed, no more.</summary>
public sealed class BubblewrapSupervisionTests
{
    [Theory]
    // Far from the limit (a session waiting for input): once a second.
    [InlineData(10_000, 1.0, 1_000)]
    [InlineData(60_000, 4.0, 1_000)]
    // The quota lets 1 core use 0.5 s of CPU in 0.5 s of wall time at the earliest; one poll of slack.
    [InlineData(500, 1.0, 400)]
    // Two cores use it up twice as fast.
    [InlineData(500, 2.0, 150)]
    // A quarter core needs 2 s for it: capped at a second.
    [InlineData(500, 0.25, 1_000)]
    // Near the limit, or over it: every 100 ms, as before.
    [InlineData(150, 1.0, 100)]
    [InlineData(0, 1.0, 100)]
    [InlineData(-300, 1.0, 100)]
    public void Cpu_time_is_read_again_no_later_than_the_quota_could_use_up_what_is_left(int leftMs, double cores, int expectedMs)
    {
        var delay = BubblewrapProcess.CpuCheckDelay(TimeSpan.FromMilliseconds(leftMs), cores);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), delay);
    }
}
