using System.Globalization;

namespace IrisIde.Execution.Admission;

/// <summary>
/// What the machine (or the container this process lives in) offers: memory and cores. Admission
/// derives its default budgets from it, so one configuration fits a laptop and a large server.
/// </summary>
/// <param name="MemoryBytes">Physical memory, or this process's cgroup memory limit when that is lower.</param>
/// <param name="Cores">Cores this process may use (<see cref="Environment.ProcessorCount"/> honours CPU limits).</param>
public sealed record HostResources(long MemoryBytes, int Cores)
{
    private const long MiB = 1024 * 1024;

    /// <summary>Memory left for runs after the server and the system keep their reserve: max(1 GiB, 10 %).</summary>
    public long MemoryForRunsBytes => Math.Max(MemoryBytes - Math.Max(1024 * MiB, MemoryBytes / 10), 256 * MiB);

    /// <summary>Reads /proc/meminfo and this process's cgroup memory limit (v1 and v2).</summary>
    public static HostResources Detect()
    {
        var memory = ReadMemTotal() ?? 4096 * MiB;
        if (ReadOwnCgroupLimit() is { } limit && limit < memory)
        {
            memory = limit;
        }

        return new HostResources(memory, Environment.ProcessorCount);
    }

    private static long? ReadMemTotal()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
                {
                    var kib = line["MemTotal:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kib, CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }

        return null;
    }

    /// <summary>The memory limit of this process's own cgroup; null when there is none (or it is "max").</summary>
    private static long? ReadOwnCgroupLimit()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/cgroup"))
            {
                var parts = line.Split(':', 3);
                if (parts.Length != 3)
                {
                    continue;
                }

                var candidate = parts[0] == "0" && parts[1].Length == 0
                    ? Path.Combine("/sys/fs/cgroup", parts[2].TrimStart('/'), "memory.max")
                    : parts[1].Split(',').Contains("memory") ? Path.Combine("/sys/fs/cgroup/memory", parts[2].TrimStart('/'), "memory.limit_in_bytes") : null;
                if (candidate is not null && File.Exists(candidate)
                    && long.TryParse(File.ReadAllText(candidate).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var limit)
                    && limit < long.MaxValue / 2)
                {
                    return limit;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}
