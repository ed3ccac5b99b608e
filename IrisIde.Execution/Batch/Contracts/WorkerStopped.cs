namespace IrisIde.Execution.Batch.Contracts;

/// <summary>
/// A job runner says goodbye as it stops gracefully (deployment, scale-down), so the web replicas stop listing
/// it at once instead of after its missed heartbeats. Published like <see cref="WorkerHeartbeat"/>; a worker
/// that crashes sends none and is judged missing as before.
/// </summary>
/// <param name="WorkerId">The id of its heartbeats.</param>
/// <param name="StartedAtUtc">When the stopping process started: a goodbye from an older process that shared the
/// id (a restart racing its predecessor's stop) does not remove its successor.</param>
/// <param name="SentAtUtc">When the goodbye left the worker.</param>
public sealed record WorkerStopped(string WorkerId, DateTime StartedAtUtc, DateTime SentAtUtc);
