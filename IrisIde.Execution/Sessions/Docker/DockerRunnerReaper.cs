using System.Globalization;
using Docker.DotNet.Models;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// At start-up and every <c>ReaperIntervalSeconds</c>: removes runner containers
/// whose web app is gone (a crashed or restarted replica on this host) or whose expiry label has passed
/// (any replica, any host), and socket folders no runner has any more; then keeps the pool (stale runners
/// replaced, size adjusted, refilled). Runners this app holds are left alone.
/// </summary>
internal sealed class DockerRunnerReaper(
    DockerEngine engine,
    DockerRunnerPool pool,
    DockerRunnerFactory factory,
    DockerReplica replica,
    IOptions<DockerRunnerOptions> options,
    TimeProvider time,
    ILogger<DockerRunnerReaper> logger) : RunnerReaper(TimeSpan.FromSeconds(options.Value.ReaperIntervalSeconds), time)
{
    /// <summary>A socket folder without a container is left this long: its runner may be being made right now.</summary>
    private static readonly TimeSpan FolderGrace = TimeSpan.FromMinutes(5);

    /// <summary>One pass; returns how many containers it removed.</summary>
    public async Task<int> ReapAsync(CancellationToken cancellationToken)
    {
        var containers = await engine.CallAsync(
            "list runner containers",
            (client, token) => client.Containers.ListContainersAsync(
                new ContainersListParameters
                {
                    All = true,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["label"] = new Dictionary<string, bool> { [$"{DockerLabels.App}={DockerLabels.RunnerApp}"] = true },
                    },
                },
                token),
            cancellationToken);

        var now = Time.GetUtcNow();
        var removed = 0;
        var known = new HashSet<string>(StringComparer.Ordinal);
        var containersGone = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var container in containers)
        {
            var labels = container.Labels ?? new Dictionary<string, string>();
            labels.TryGetValue(DockerLabels.Runner, out var runnerId);
            if (runnerId is not null)
            {
                known.Add(runnerId);
            }

            if (pool.Holds(container.ID))
            {
                continue;
            }

            var owner = labels.TryGetValue(DockerLabels.Replica, out var r) ? r : string.Empty;
            var expired = !labels.TryGetValue(DockerLabels.Expires, out var e)
                || !long.TryParse(e, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                || DateTimeOffset.FromUnixTimeSeconds(seconds) < now;
            var ownerAlive = replica.IsAlive(owner);
            var ownerContainer = labels.TryGetValue(DockerLabels.ReplicaContainer, out var c) && c != replica.ContainerId ? c : null;
            if (ownerAlive is null && ownerContainer is not null)
            {
                if (!containersGone.TryGetValue(ownerContainer, out var gone))
                {
                    containersGone[ownerContainer] = gone = await IsContainerGoneAsync(ownerContainer, cancellationToken);
                }

                ownerAlive = gone ? false : null;
            }

            string? why = expired ? "its time is up"
                : ownerAlive == false ? $"its web app ({owner}{(ownerContainer is null ? string.Empty : ", container " + ownerContainer[..12])}) is gone"
                // Ours but not held: a runner whose session ended while its removal failed, or one being made right now.
                : owner == replica.Id && !string.Equals(container.State, "running", StringComparison.Ordinal) && !string.Equals(container.State, "created", StringComparison.Ordinal) ? $"it is {container.State} and no session holds it"
                : null;
            if (why is null)
            {
                continue;
            }

            DockerSessionLog.Reaping(logger, container.ID[..Math.Min(12, container.ID.Length)], runnerId ?? "?", why);
            await factory.RemoveAsync(container.ID, runnerId is null ? null : factory.SocketFolderOf(runnerId));
            removed++;
        }

        SweepFolders(known, now);
        return removed;
    }

    /// <summary>
    /// Whether the web app's container no longer runs: removed (recreated by compose, say) or stopped. A container that
    /// runs again after a restart holds a new process, which reaps its predecessor's runners itself (same host name).
    /// </summary>
    private async Task<bool> IsContainerGoneAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            var inspected = await engine.CallAsync("inspect a web app's container", (client, token) => client.Containers.InspectContainerAsync(id, token), cancellationToken);
            return inspected.State is { Running: false, Restarting: false };
        }
        catch (DockerUnavailableException e) when (e.Kind is DockerFailure.NotFound)
        {
            return true;
        }
    }

    protected override async Task PassAsync(CancellationToken cancellationToken)
    {
        await ReapAsync(cancellationToken);
        await pool.MaintainAsync();
    }

    protected override void PassFailed(RunnerBackendException failure) => DockerSessionLog.ReaperFailed(logger, failure.Message);

    private void SweepFolders(HashSet<string> known, DateTimeOffset now)
    {
        if (!Directory.Exists(factory.SocketRoot))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(factory.SocketRoot))
        {
            var name = Path.GetFileName(folder);
            if (known.Contains(name) || now - Directory.GetLastWriteTimeUtc(folder) < FolderGrace)
            {
                continue;
            }

            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DockerSessionLog.RemoveFailed(logger, folder, e.Message);
            }
        }
    }
}
