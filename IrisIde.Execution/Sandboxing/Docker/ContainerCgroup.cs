using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Docker;

/// <summary>
/// A container's cgroup as the host shows it, for its CPU time and peak memory: cgroup v1 (cgroupfs driver,
/// <c>/sys/fs/cgroup/{cpuacct,memory}/docker/ID</c>) or v2 (<c>/sys/fs/cgroup/docker/ID</c>, or the systemd
/// driver's <c>system.slice/docker-ID.scope</c>). When none is found (the engine on another host, a runtime
/// that keeps its own), both figures stay unknown and only the rlimits hold the CPU time.
/// </summary>
internal sealed class ContainerCgroup
{
    private const string Root = "/sys/fs/cgroup";

    private readonly string? _cpuFile;
    private readonly bool _cpuInMicroseconds;
    private readonly string? _peakFile;

    private ContainerCgroup(string? cpuFile, bool cpuInMicroseconds, string? peakFile)
    {
        _cpuFile = cpuFile;
        _cpuInMicroseconds = cpuInMicroseconds;
        _peakFile = peakFile;
    }

    public static ContainerCgroup Find(string containerId)
    {
        foreach (var v2 in new[] { Path.Combine(Root, "docker", containerId), Path.Combine(Root, "system.slice", $"docker-{containerId}.scope") })
        {
            if (File.Exists(Path.Combine(v2, "cpu.stat")))
            {
                var peak = Path.Combine(v2, "memory.peak");
                return new ContainerCgroup(Path.Combine(v2, "cpu.stat"), cpuInMicroseconds: true, File.Exists(peak) ? peak : null);
            }
        }

        var cpu = Path.Combine(Root, "cpuacct", "docker", containerId, "cpuacct.usage");
        var memory = Path.Combine(Root, "memory", "docker", containerId, "memory.max_usage_in_bytes");
        return new ContainerCgroup(File.Exists(cpu) ? cpu : null, cpuInMicroseconds: false, File.Exists(memory) ? memory : null);
    }

    public TimeSpan? ReadCpu()
    {
        var text = Read(_cpuFile);
        if (text is null)
        {
            return null;
        }

        if (!_cpuInMicroseconds)
        {
            return long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var nanoseconds) ? TimeSpan.FromTicks(nanoseconds / 100) : null;
        }

        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith("usage_usec ", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan(11), NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds))
            {
                return TimeSpan.FromMicroseconds(microseconds);
            }
        }

        return null;
    }

    public long? ReadPeakMemory() =>
        Read(_peakFile) is { } text && long.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) ? bytes : null;

    private static string? Read(string? file)
    {
        if (file is null)
        {
            return null;
        }

        try
        {
            return File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The container ended and its cgroup went with it.
            return null;
        }
    }
}
