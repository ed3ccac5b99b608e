namespace IrisIde.Web.Metrics;

/// <summary>
/// What <c>iris_workers</c> and <c>iris_worker_jobs_in_flight</c> report: the batch workers alive now and how many
/// jobs each runs. Called at every scrape, so it must answer from memory: it is the web app's
/// <c>WorkerRegistry</c>, fed by the workers' heartbeats (in the in-memory mode, this process's own).
/// </summary>
public interface IWorkerGauge
{
    IReadOnlyList<(string WorkerId, int InFlight)> AliveWorkers();
}
