using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// This web app's name on the runners it owns (label <c>iris.replica</c>): host name, process id and the
/// process's start time (<c>host.pid.start</c>), so a restarted app, even with the same pid in a restarted
/// container, is a different owner, and the reaper can tell that an owner on the same host is gone. A web app that
/// itself runs in a Docker container also names that container (label <c>iris.replica-container</c>): a replica
/// whose container was removed or stopped (recreated by compose, killed) is gone, whatever its host name was.
/// </summary>
internal sealed partial class DockerReplica
{
    public DockerReplica(IOptions<DockerRunnerOptions> options)
        : this(options, ContainerIdFrom(ReadMountInfo()))
    {
    }

    internal DockerReplica(IOptions<DockerRunnerOptions> options, string? containerId)
    {
        ArgumentNullException.ThrowIfNull(options);
        Id = options.Value.ReplicaId is { Length: > 0 } configured ? configured : Describe(Environment.MachineName, Environment.ProcessId, StartTimeOf(Environment.ProcessId));
        ContainerId = containerId;
    }

    public string Id { get; }

    /// <summary>The Docker container this web app runs in, or null when it runs on a host (or the engine is not Docker's).</summary>
    public string? ContainerId { get; }

    /// <summary>
    /// The id of the Docker container whose <c>/etc/hostname</c>, <c>/etc/hosts</c> or <c>/etc/resolv.conf</c> is
    /// mounted in this process's mount table (Docker mounts them from <c>…/containers/&lt;id&gt;/</c>), or null.
    /// </summary>
    internal static string? ContainerIdFrom(string? mountInfo)
    {
        if (mountInfo is null)
        {
            return null;
        }

        foreach (var line in mountInfo.Split('\n'))
        {
            // Field 4 is the mount's root within its file system, field 5 where it is mounted.
            var fields = line.Split(' ');
            if (fields.Length > 4 && fields[4] is "/etc/hostname" or "/etc/hosts" or "/etc/resolv.conf"
                && ContainerFolder().Match(fields[3]) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }

        return null;
    }

    private static string? ReadMountInfo()
    {
        try
        {
            return File.ReadAllText("/proc/self/mountinfo");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [GeneratedRegex("/containers/([0-9a-f]{64})/(?:hostname|hosts|resolv\\.conf)$")]
    private static partial Regex ContainerFolder();

    /// <summary>
    /// Whether the replica named <paramref name="replicaId"/> still runs: true for this one, false for one on
    /// this host whose process is gone (or is another process now), null when it cannot be told from here
    /// (another host, or a configured name): then only the runner's expiry decides.
    /// </summary>
    public bool? IsAlive(string replicaId)
    {
        if (replicaId == Id)
        {
            return true;
        }

        var parts = replicaId.Split('.');
        if (parts.Length < 3
            || !int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !ulong.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            || !string.Equals(string.Join('.', parts[..^2]), Environment.MachineName, StringComparison.Ordinal))
        {
            return null;
        }

        return StartTimeOf(pid) == start;
    }

    internal static string Describe(string host, int pid, ulong? start) =>
        string.Create(CultureInfo.InvariantCulture, $"{host}.{pid}.{start ?? 0}");

    /// <summary>The process's start time in clock ticks after boot (<c>/proc/PID/stat</c>, field 22); null when there is no such process.</summary>
    internal static ulong? StartTimeOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return ulong.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
