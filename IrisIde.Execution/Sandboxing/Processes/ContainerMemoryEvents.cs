using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// How many processes the kernel's OOM killer has taken in this process's own memory cgroup (the runner container's
/// or pod's): <c>oom_kill</c> of memory.events (cgroup v2) or of memory.oom_control (v1). A run whose program was
/// SIGKILLed while that count rose was ended for memory, whatever the sampling saw.
/// </summary>
internal static class ContainerMemoryEvents
{
    private static readonly string? EventsFile = FindEventsFile();

    /// <summary>The count, or null where this cgroup's memory events cannot be read.</summary>
    public static long? ReadOomKills()
    {
        if (EventsFile is null)
        {
            return null;
        }

        try
        {
            foreach (var line in File.ReadLines(EventsFile))
            {
                if (line.StartsWith("oom_kill ", StringComparison.Ordinal)
                    && long.TryParse(line.AsSpan("oom_kill ".Length), NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                {
                    return count;
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Unreadable now: no evidence either way.
        }

        return null;
    }

    /// <summary>
    /// The own cgroup's file under /sys/fs/cgroup as /proc/self/cgroup names it, else the mount's root: inside a
    /// container without a cgroup namespace the path is the host's, and the container's own cgroup is mounted as the root.
    /// </summary>
    private static string? FindEventsFile()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/proc/self/cgroup");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            var (root, file) = parts[1] switch
            {
                "" when parts[0] == "0" => ("/sys/fs/cgroup", "memory.events"),
                var controllers when controllers.Split(',').Contains("memory") => ("/sys/fs/cgroup/memory", "memory.oom_control"),
                _ => (null, null),
            };
            if (root is null || file is null)
            {
                continue;
            }

            var own = Path.Combine(root + parts[2].TrimEnd('/'), file);
            var candidate = File.Exists(own) ? own : Path.Combine(root, file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
