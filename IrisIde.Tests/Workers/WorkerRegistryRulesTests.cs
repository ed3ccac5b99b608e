using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Web.Workers;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace IrisIde.Tests.Workers;

/// <summary>The registry's alive / missing / forgotten rules, on a clock the test moves.</summary>
public sealed class WorkerRegistryRulesTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly WorkerRegistry _registry;

    public WorkerRegistryRulesTests() =>
        _registry = new WorkerRegistry(Options.Create(new WorkerHeartbeatOptions { MissingAfterHeartbeats = 3, ForgetAfterMinutes = 10 }), _time);

    private WorkerHeartbeat Beat(string id, double interval = 5, int inFlight = 0) =>
        new(id, "host", 50, inFlight, 0.5, 1.0, "1.0", _time.GetUtcNow().UtcDateTime, _time.GetUtcNow().UtcDateTime, interval, InProcess: false);

    [Fact]
    public void A_worker_is_alive_until_three_of_its_own_intervals_pass_without_a_heartbeat()
    {
        _registry.Record(Beat("slow", interval: 10));
        _registry.Record(Beat("fast", interval: 1));

        _time.Advance(TimeSpan.FromSeconds(3.5));
        var states = _registry.List().ToDictionary(w => w.WorkerId, w => w.State);

        Assert.Equal(WorkerStates.Alive, states["slow"]);
        Assert.Equal(WorkerStates.Missing, states["fast"]);
        Assert.Equal([("slow", 0)], _registry.AliveWorkers());
    }

    [Fact]
    public void A_heartbeat_brings_a_missing_worker_back_with_its_latest_numbers()
    {
        _registry.Record(Beat("w", interval: 1));
        _time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkerStates.Missing, Assert.Single(_registry.List()).State);

        _registry.Record(Beat("w", interval: 1, inFlight: 7));

        var back = Assert.Single(_registry.List());
        Assert.Equal(WorkerStates.Alive, back.State);
        Assert.Equal(7, back.InFlight);
        Assert.Equal(_time.GetUtcNow().UtcDateTime, back.LastSeenUtc);
    }

    [Fact]
    public void A_worker_not_heard_from_for_the_forget_time_is_no_longer_listed()
    {
        _registry.Record(Beat("gone"));
        _time.Advance(TimeSpan.FromMinutes(9));
        Assert.Equal(WorkerStates.Missing, Assert.Single(_registry.List()).State);

        _time.Advance(TimeSpan.FromMinutes(1.5));

        Assert.Empty(_registry.List());
    }

    [Fact]
    public void Alive_workers_are_listed_before_missing_ones()
    {
        _registry.Record(Beat("a-old", interval: 1));
        _time.Advance(TimeSpan.FromSeconds(5));
        _registry.Record(Beat("b-new", interval: 1));

        Assert.Equal(["b-new", "a-old"], _registry.List().Select(w => w.WorkerId));
    }

    [Fact]
    public void A_goodbye_removes_the_worker_at_once()
    {
        var beat = Beat("leaving");
        _registry.Record(beat);
        _registry.Record(Beat("staying"));

        _registry.Stopped(new WorkerStopped("leaving", beat.StartedAtUtc, _time.GetUtcNow().UtcDateTime));

        Assert.Equal(["staying"], _registry.List().Select(w => w.WorkerId));
    }

    [Fact]
    public void A_goodbye_from_an_earlier_process_under_the_same_id_leaves_its_successor_listed()
    {
        var predecessorStarted = _time.GetUtcNow().UtcDateTime;
        _time.Advance(TimeSpan.FromSeconds(30));
        _registry.Record(Beat("restarted"));

        _registry.Stopped(new WorkerStopped("restarted", predecessorStarted, _time.GetUtcNow().UtcDateTime));
        _registry.Stopped(new WorkerStopped("never-heard-of", predecessorStarted, _time.GetUtcNow().UtcDateTime));

        Assert.Equal(WorkerStates.Alive, Assert.Single(_registry.List()).State);
    }
}
