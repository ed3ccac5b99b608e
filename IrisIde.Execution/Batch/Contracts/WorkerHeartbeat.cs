namespace IrisIde.Execution.Batch.Contracts;

/// <summary>
/// A job runner says it is alive, every <paramref name="IntervalSeconds"/>. Published (fanned out), never sent:
/// every web replica keeps its own list of workers, so each must see every heartbeat.
/// </summary>
/// <param name="WorkerId">The id the worker also puts on its results (<c>Iris:Batch:WorkerId</c>).</param>
/// <param name="HostName">The machine (or pod) it runs on.</param>
/// <param name="Concurrency">Jobs it runs at once at most (<c>Iris:Batch:ConcurrentJobs</c>).</param>
/// <param name="InFlight">Jobs it holds now (running, or waiting for their memory grant).</param>
/// <param name="LoadAverage1m">The host's one-minute load average; null where the host does not report one.</param>
/// <param name="CpuPercent">The worker process's own CPU use since its last heartbeat, in percent of all cores.</param>
/// <param name="Version">The worker's build.</param>
/// <param name="StartedAtUtc">When the worker process started.</param>
/// <param name="SentAtUtc">When this heartbeat left the worker.</param>
/// <param name="IntervalSeconds">How often it sends one: receivers judge it missing by its own interval.</param>
/// <param name="InProcess">The web app's own embedded job runner (in-memory bus), not an <c>IrisIde.Worker</c> process.</param>
public sealed record WorkerHeartbeat(
    string WorkerId,
    string HostName,
    int Concurrency,
    int InFlight,
    double? LoadAverage1m,
    double? CpuPercent,
    string Version,
    DateTime StartedAtUtc,
    DateTime SentAtUtc,
    double IntervalSeconds,
    bool InProcess);
