using System.Collections.Concurrent;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Workers;

/// <summary>Wire values of <see cref="WorkerStatus.State"/>.</summary>
public static class WorkerStates
{
    /// <summary>Heard from within its last <see cref="WorkerHeartbeatOptions.MissingAfterHeartbeats"/> heartbeats.</summary>
    public const string Alive = "alive";

    /// <summary>Not heard from for that long; forgotten after <see cref="WorkerHeartbeatOptions.ForgetAfterMinutes"/>.</summary>
    public const string Missing = "missing";
}

/// <summary>One job runner as this web replica last heard of it.</summary>
public sealed record WorkerStatus(
    string WorkerId,
    string HostName,
    int Concurrency,
    int InFlight,
    double? LoadAverage1m,
    double? CpuPercent,
    string Version,
    DateTime StartedAtUtc,
    DateTime LastSeenUtc,
    string State,
    bool InProcess);

/// <summary>
/// The job runners this web replica hears from (<see cref="WorkerHeartbeat"/>): alive while their heartbeats
/// come, <c>missing</c> once <see cref="WorkerHeartbeatOptions.MissingAfterHeartbeats"/> of their own intervals
/// pass without one, forgotten after <see cref="WorkerHeartbeatOptions.ForgetAfterMinutes"/>. "Last seen" is
/// when this replica received the heartbeat, not the worker's clock, so a worker with a skewed clock is
/// judged fairly. Each replica keeps its own list; every replica gets every heartbeat
/// (<see cref="WorkerHeartbeatConsumerDefinition"/>).
/// </summary>
public sealed class WorkerRegistry(IOptions<WorkerHeartbeatOptions> options, TimeProvider timeProvider) : IrisIde.Web.Metrics.IWorkerGauge
{
    private readonly ConcurrentDictionary<string, (WorkerHeartbeat Heartbeat, DateTime ReceivedUtc)> _workers = new(StringComparer.Ordinal);

    public void Record(WorkerHeartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        _workers[heartbeat.WorkerId] = (heartbeat, timeProvider.GetUtcNow().UtcDateTime);
    }

    /// <summary>
    /// Forgets a worker that said goodbye, unless what is listed under its id is a later process (a restarted
    /// worker's first heartbeat can arrive before its predecessor's goodbye).
    /// </summary>
    public void Stopped(WorkerStopped goodbye)
    {
        ArgumentNullException.ThrowIfNull(goodbye);
        if (_workers.TryGetValue(goodbye.WorkerId, out var entry) && entry.Heartbeat.StartedAtUtc <= goodbye.StartedAtUtc)
        {
            _workers.TryRemove(new KeyValuePair<string, (WorkerHeartbeat, DateTime)>(goodbye.WorkerId, entry));
        }
    }

    /// <summary>Every worker heard from recently, alive ones first, each with its state; forgets the long gone.</summary>
    public IReadOnlyList<WorkerStatus> List()
    {
        var now = timeProvider.GetUtcNow().UtcDateTime;
        var forgetAfter = TimeSpan.FromMinutes(options.Value.ForgetAfterMinutes);
        var list = new List<WorkerStatus>(_workers.Count);
        foreach (var (id, (heartbeat, received)) in _workers)
        {
            var silent = now - received;
            if (silent > forgetAfter)
            {
                // Only the entry we looked at: a fresh heartbeat that raced in stays.
                _workers.TryRemove(new KeyValuePair<string, (WorkerHeartbeat, DateTime)>(id, (heartbeat, received)));
                continue;
            }

            var missingAfter = TimeSpan.FromSeconds(heartbeat.IntervalSeconds * options.Value.MissingAfterHeartbeats);
            list.Add(new WorkerStatus(
                heartbeat.WorkerId,
                heartbeat.HostName,
                heartbeat.Concurrency,
                heartbeat.InFlight,
                heartbeat.LoadAverage1m,
                heartbeat.CpuPercent,
                heartbeat.Version,
                heartbeat.StartedAtUtc,
                received,
                silent > missingAfter ? WorkerStates.Missing : WorkerStates.Alive,
                heartbeat.InProcess));
        }

        return [.. list.OrderBy(w => w.State == WorkerStates.Alive ? 0 : 1).ThenBy(w => w.WorkerId, StringComparer.Ordinal)];
    }

    /// <summary>The alive workers and the jobs each holds (the shape the metrics' worker gauge reads).</summary>
    public IReadOnlyList<(string WorkerId, int InFlight)> AliveWorkers() =>
        [.. List().Where(w => w.State == WorkerStates.Alive).Select(w => (w.WorkerId, w.InFlight))];
}
