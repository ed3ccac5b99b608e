using IrisIde.Tests.History;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Dashboard;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Dashboard;

/// <summary>The dashboard tests' app: the history's settings, sandbox uids 65400-65407.</summary>
public sealed class DashboardAppFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(HistoryAppFixture.HistorySettings)
    {
        ["Iris:Sandbox:Uid"] = "65400",
        ["Iris:Sandbox:UidCount"] = "8",
    };
}

/// <summary>
/// The admin dashboard's figures: what every replica did comes from the database (sessions, queue, runs, verdicts),
/// what only this process can know (a session's usage and idle time) is shown for its own sessions only.
/// </summary>
public sealed class AdminDashboardTests(DashboardAppFixture fixture) : IClassFixture<DashboardAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private IrisWebApp App => fixture.App;

    private AdminDashboard Figures => App.Services.GetRequiredService<AdminDashboard>();

    [Fact]
    public async Task Every_replicas_sessions_queue_and_verdicts_are_read_from_the_database_and_a_dead_replicas_rows_are_not()
    {
        var now = DateTime.UtcNow;
        var before = await Figures.SnapshotAsync(CancellationToken.None);
        var elsewhere = Row(RunKind.Interactive, RunRecordStatus.Running, now.AddMinutes(-1));
        // "Running" for two days: the replica that ran it died; no session lives that long.
        var stale = Row(RunKind.Interactive, RunRecordStatus.Running, now.AddDays(-2));
        var queued = new[] { Row(RunKind.Batch, RunRecordStatus.Queued, now), Row(RunKind.Batch, RunRecordStatus.Queued, now) };
        var ended = new[]
        {
            Ended(Row(RunKind.Batch, RunRecordStatus.Completed, now.AddSeconds(-30)), "runtime_error", startedAfterSeconds: 2),
            Ended(Row(RunKind.Batch, RunRecordStatus.Completed, now.AddSeconds(-20)), "runtime_error", startedAfterSeconds: 4),
            Ended(Row(RunKind.Interactive, RunRecordStatus.Completed, now.AddMinutes(-30)), "time_limit", startedAfterSeconds: 0),
        };
        await HistoryStore.WithDbAsync(App, db =>
        {
            db.Runs.AddRange([elsewhere, stale, .. queued, .. ended]);
            return db.SaveChangesAsync();
        });

        var after = await Figures.SnapshotAsync(CancellationToken.None);

        var listed = Assert.Single(after.Sessions, s => s.RunId == elsewhere.Id);
        Assert.False(listed.Here);
        Assert.Null(listed.CpuSeconds);
        Assert.DoesNotContain(after.Sessions, s => s.RunId == stale.Id);
        Assert.Equal(before.QueueDepth + 2, after.QueueDepth);
        // Two runs ended within the minute (the interactive one ended 29 minutes ago).
        Assert.Equal(before.RunsLastMinute + 2, after.RunsLastMinute);
        Assert.Equal(Count(before, "runtime_error") + 2, Count(after, "runtime_error"));
        Assert.Equal(Count(before, "time_limit") + 1, Count(after, "time_limit"));
        Assert.NotNull(after.QueueWaitP50Seconds);
    }

    [Fact]
    public async Task A_session_of_this_process_shows_its_cpu_memory_and_idle_time_and_goes_when_it_ends()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "dashboard");
        await using var client = await RunnerTestClient.ConnectAsync(new Uri($"{App.WebSocketUri}?access_token={Uri.EscapeDataString(student.Token)}"));
        // Spends about half a second of CPU, holds a few MiB, then waits for input.
        await client.SendCodeAsync("python", "import time\nblock = bytearray(8 * 1024 * 1024)\nend = time.process_time() + 0.5\nwhile time.process_time() < end:\n    pass\nprint('waiting', flush=True)\ninput()\n");
        await client.WaitForStdoutAsync("waiting").WaitAsync(Timeout);

        var session = await WaitForAsync(s => s.Sessions.FirstOrDefault(x => x.OwnerId == student.Id && x.CpuSeconds >= 0.4));

        Assert.True(session.Here);
        Assert.Equal(student.Email, session.Student);
        Assert.Equal(("python", "ws"), (session.Language, session.Surface));
        Assert.True(session.MemoryBytes >= 8 * 1024 * 1024, $"memory {session.MemoryBytes}");
        Assert.NotNull(session.IdleFor);

        Assert.True(App.Services.GetRequiredService<LiveRuns>().Find(session.RunId)!.Stop("ended by the test"));
        await client.ReadToEndAsync().WaitAsync(Timeout);
        await WaitForAsync(s => s.Sessions.Any(x => x.RunId == session.RunId) ? null : s);
    }

    private async Task<T> WaitForAsync<T>(Func<DashboardSnapshot, T?> found)
        where T : class
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var snapshot = await Figures.SnapshotAsync(CancellationToken.None);
            if (found(snapshot) is { } result)
            {
                return result;
            }

            Assert.True(DateTime.UtcNow < deadline, "the dashboard did not show it in time");
            await Task.Delay(100);
        }
    }

    private static int Count(DashboardSnapshot snapshot, string verdict) =>
        snapshot.VerdictsLastHour.FirstOrDefault(v => v.Verdict == verdict).Count;

    private static RunRecord Row(RunKind kind, RunRecordStatus status, DateTime queued) => new()
    {
        Id = Guid.CreateVersion7(),
        Kind = kind,
        Status = status,
        Surface = kind == RunKind.Batch ? RunSurfaces.Batch : RunSurfaces.Ide,
        Backend = "another-replica",
        Language = "python",
        FilesJson = "[]",
        LimitsJson = "null",
        QueuedAtUtc = queued,
        StartedAtUtc = status == RunRecordStatus.Queued ? null : queued,
    };

    private static RunRecord Ended(RunRecord run, string verdict, int startedAfterSeconds)
    {
        run.StartedAtUtc = run.QueuedAtUtc.AddSeconds(startedAfterSeconds);
        run.FinishedAtUtc = run.QueuedAtUtc.AddSeconds(startedAfterSeconds + 1);
        run.Verdict = verdict;
        return run;
    }

    [Theory]
    [InlineData(null, "—")]
    [InlineData(0.0031, "3 ms")]
    [InlineData(0.0619, "62 ms")]
    [InlineData(0.9994, "999 ms")]
    [InlineData(1.0, "1.00 s")]
    [InlineData(12.345, "12.35 s")]
    public void A_latency_under_a_second_reads_in_milliseconds_and_longer_ones_in_seconds(double? seconds, string shown) =>
        Assert.Equal(shown, IrisIde.Web.Components.Dashboard.Dashboard.Seconds(seconds));
}
