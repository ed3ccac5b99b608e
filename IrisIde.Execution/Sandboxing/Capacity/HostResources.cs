using System.Globalization;
using IrisIde.Execution.Sandboxing.Cgroups;

namespace IrisIde.Execution.Sandboxing.Capacity;

/// <summary>
/// What the host (as this process sees it) has to share between the server, the system and the runs.
/// A container or service manager may give the server less than the machine: its cgroup limits count.
/// </summary>
/// <param name="MemTotalBytes">MemTotal of /proc/meminfo.</param>
/// <param name="CgroupMemoryLimitBytes">The tightest memory limit on this process's cgroup or its ancestors; null when none.</param>
/// <param name="PidMax">/proc/sys/kernel/pid_max.</param>
/// <param name="ThreadsMax">/proc/sys/kernel/threads-max.</param>
/// <param name="CgroupProcessLimit">The tightest pids.max on this process's cgroup or its ancestors; null when none.</param>
internal sealed record HostResources(long MemTotalBytes, long? CgroupMemoryLimitBytes, int PidMax, int ThreadsMax, long? CgroupProcessLimit)
{
    // v1 reports "no limit" as PAGE_COUNTER_MAX pages (9223372036854771712 on 4 KiB pages); anything
    // this large is no limit.
    private const long UnlimitedThreshold = 1L << 62;

    public long MemoryBytes => Math.Min(MemTotalBytes, CgroupMemoryLimitBytes ?? long.MaxValue);

    public int Processes => (int)Math.Min(Math.Min(PidMax, ThreadsMax), CgroupProcessLimit ?? long.MaxValue);

    /// <summary>How <see cref="MemoryBytes"/> came about, for start-up messages.</summary>
    public string DescribeMemory() =>
        $"MemTotal {RunCapacity.FormatBytes(MemTotalBytes)}, the server's cgroup limit "
        + (CgroupMemoryLimitBytes is { } limit ? RunCapacity.FormatBytes(limit) : "none");

    /// <summary>How <see cref="Processes"/> came about, for start-up messages.</summary>
    public string DescribeProcesses() =>
        string.Create(CultureInfo.InvariantCulture, $"pid_max {PidMax}, threads-max {ThreadsMax}, the server's cgroup pids.max ")
        + (CgroupProcessLimit is { } limit ? limit.ToString(CultureInfo.InvariantCulture) : "none");

    public static HostResources Detect(string cgroupRoot = "/sys/fs/cgroup")
    {
        var memTotal = File.ReadLines("/proc/meminfo")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(fields => fields is ["MemTotal:", _, "kB"])
            .Select(fields => long.Parse(fields[1], CultureInfo.InvariantCulture) * 1024)
            .First();
        var pidMax = ReadKernelLimit("/proc/sys/kernel/pid_max");
        var threadsMax = ReadKernelLimit("/proc/sys/kernel/threads-max");

        CgroupLayout? layout;
        try
        {
            layout = CgroupLayout.DetectCurrent(cgroupRoot);
        }
        catch (Exception exception) when (exception is NotSupportedException or IOException or UnauthorizedAccessException)
        {
            layout = null;
        }

        var fileSystem = CgroupFileSystem.Instance;
        long? memoryLimit = null;
        long? processLimit = null;
        if (layout?.Version == CgroupVersion.V2)
        {
            memoryLimit = TightestUpwards(fileSystem, layout.UnifiedDirectory!, cgroupRoot, "memory.max");
            processLimit = TightestUpwards(fileSystem, layout.UnifiedDirectory!, cgroupRoot, "pids.max");
        }
        else if (layout is not null)
        {
            // memory.stat already folds the ancestors' limits in.
            if (layout.ControllerDirectories.TryGetValue("memory", out var memory))
            {
                memoryLimit = Limit(CgroupProcesses.ReadKeyedValue(fileSystem, Path.Combine(memory, "memory.stat"), "hierarchical_memory_limit"));
            }

            if (layout.ControllerDirectories.TryGetValue("pids", out var pids))
            {
                processLimit = TightestUpwards(fileSystem, pids, cgroupRoot, "pids.max");
            }
        }

        return new HostResources(memTotal, memoryLimit, pidMax, threadsMax, processLimit);
    }

    /// <summary>
    /// A kernel-wide limit; gVisor's /proc has neither pid_max nor threads-max, and there the largest pid space
    /// Linux allows (PID_MAX_LIMIT) stands in: the container's pids limit, read below, is what binds.
    /// </summary>
    private static int ReadKernelLimit(string path)
    {
        const int PidMaxLimit = 4_194_304;
        try
        {
            return int.Parse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return PidMaxLimit;
        }
    }

    /// <summary>The smallest value of <paramref name="file"/> from the own cgroup up to the hierarchy's root (which has none).</summary>
    private static long? TightestUpwards(CgroupFileSystem fileSystem, string directory, string cgroupRoot, string file)
    {
        long? tightest = null;
        for (var current = directory;
             current is not null && current.StartsWith(cgroupRoot, StringComparison.Ordinal) && fileSystem.FileExists(Path.Combine(current, file));
             current = Path.GetDirectoryName(current))
        {
            var text = fileSystem.ReadAllText(Path.Combine(current, file)).Trim();
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && Limit(value) is { } limit)
            {
                tightest = Math.Min(tightest ?? long.MaxValue, limit);
            }
        }

        return tightest;
    }

    private static long? Limit(long value) => value is > 0 and < UnlimitedThreshold ? value : null;
}
