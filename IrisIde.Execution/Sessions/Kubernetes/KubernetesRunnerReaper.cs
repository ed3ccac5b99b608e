using System.Globalization;
using IrisIde.Execution.Sessions.Runners;
using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// At start-up and every <c>ReaperIntervalSeconds</c>: deletes runner pods whose web app
/// is gone (its pod no longer exists or has stopped: a crashed or rescheduled replica) or whose expiry label has
/// passed, and pods of this replica that no session holds and that have stopped or outlived their time to get ready;
/// then keeps the pool. Pods this replica holds are left alone.
/// </summary>
internal sealed class KubernetesRunnerReaper(
    KubernetesApi api,
    KubernetesRunnerPool pool,
    KubernetesRunnerFactory factory,
    KubernetesReplica replica,
    IOptions<KubernetesRunnerOptions> options,
    TimeProvider time,
    ILogger<KubernetesRunnerReaper> logger) : RunnerReaper(TimeSpan.FromSeconds(options.Value.ReaperIntervalSeconds), time)
{
    /// <summary>One pass; returns how many pods it deleted.</summary>
    public async Task<int> ReapAsync(CancellationToken cancellationToken)
    {
        var pods = await api.CallAsync(
            "list runner pods",
            (client, token) => client.CoreV1.ListNamespacedPodAsync(api.Namespace, labelSelector: KubernetesNames.RunnerLabel, cancellationToken: token),
            cancellationToken);

        var now = Time.GetUtcNow();
        var makingGrace = TimeSpan.FromSeconds(options.Value.ReadyTimeoutSeconds) + TimeSpan.FromMinutes(1);
        var replicasGone = new Dictionary<string, bool>(StringComparer.Ordinal);
        var deleted = 0;
        foreach (var pod in pods.Items)
        {
            var name = pod.Metadata.Name;
            if (pool.Holds(name) || pod.Metadata.DeletionTimestamp is not null)
            {
                continue;
            }

            var labels = pod.Metadata.Labels ?? new Dictionary<string, string>();
            var owner = labels.TryGetValue(KubernetesNames.ReplicaLabel, out var r) ? r : string.Empty;
            var expired = !labels.TryGetValue(KubernetesNames.ExpiresLabel, out var e)
                || !long.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || DateTimeOffset.FromUnixTimeSeconds(seconds) < now;
            string? why;
            if (expired)
            {
                why = "its time is up";
            }
            else if (owner == replica.Id)
            {
                // Ours but not held: a pod whose session ended while its deletion failed, or one being made right now.
                var age = pod.Metadata.CreationTimestamp is { } created ? now - new DateTimeOffset(created, TimeSpan.Zero) : TimeSpan.Zero;
                why = pod.Status?.Phase is "Failed" or "Succeeded" ? $"it has stopped ({pod.Status.Phase}) and no session holds it"
                    : age > makingGrace ? "no session holds it and it is older than a start may take"
                    : null;
            }
            else
            {
                if (!replicasGone.TryGetValue(owner, out var gone))
                {
                    replicasGone[owner] = gone = await IsReplicaGoneAsync(owner, cancellationToken);
                }

                why = gone ? $"its web app ({owner}) is gone" : null;
            }

            if (why is null)
            {
                continue;
            }

            KubernetesSessionLog.Reaping(logger, name, why);
            await factory.DeleteAsync(name);
            deleted++;
        }

        return deleted;
    }

    /// <summary>Whether the web app's pod no longer exists or has stopped; a name that is no pod name cannot be judged (only expiry decides).</summary>
    private async Task<bool> IsReplicaGoneAsync(string replicaId, CancellationToken cancellationToken)
    {
        if (!KubernetesNames.IsDnsSubdomain(replicaId))
        {
            return false;
        }

        try
        {
            var pod = await api.CallAsync("read a web app's pod", (client, token) => client.CoreV1.ReadNamespacedPodAsync(replicaId, api.Namespace, cancellationToken: token), cancellationToken);
            return pod.Metadata.DeletionTimestamp is not null || pod.Status?.Phase is "Failed" or "Succeeded";
        }
        catch (KubernetesUnavailableException e) when (e.Kind is KubernetesFailure.NotFound)
        {
            return true;
        }
    }

    protected override async Task PassAsync(CancellationToken cancellationToken)
    {
        await ReapAsync(cancellationToken);
        await pool.MaintainAsync();
    }

    protected override void PassFailed(RunnerBackendException failure) => KubernetesSessionLog.ReaperFailed(logger, failure.Message);
}
