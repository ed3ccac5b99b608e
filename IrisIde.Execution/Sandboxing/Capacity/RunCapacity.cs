using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Capacity;

/// <summary>
/// What all runs of this server together may use: the limits of the cgroup every run's cgroup lives
/// in (bubblewrap sandbox), so that runs outgrowing the host are killed instead of the server. Read
/// by admission to size its budgets. In a runner pod (process sandbox) nothing enforces it: the pod's
/// own limits do.
/// </summary>
/// <param name="MemoryBytes">Memory of all runs together, bytes.</param>
/// <param name="MaxProcesses">Processes and threads of all runs together.</param>
public sealed record RunCapacity(long MemoryBytes, int MaxProcesses)
{
    /// <summary>The message of a run killed because all runs together filled <see cref="MemoryBytes"/> (verdict memory_limit).</summary>
    public const string ServerFullMessage = "The server ran out of memory for runs (it was full); try again in a minute.";

    internal const long MinimumMemoryBytes = 64L * 1024 * 1024;
    internal const int MinimumProcesses = 64;
    internal const long DefaultMemoryReserveFloorBytes = 512L * 1024 * 1024;
    internal const int DefaultProcessReserveFloor = 1024;

    /// <summary>
    /// The capacity <paramref name="options"/> ask for on <paramref name="host"/>, or the reasons it
    /// cannot be had (each with the numbers, for the start-up error).
    /// </summary>
    internal static (RunCapacity? Capacity, IReadOnlyList<string> Failures) Resolve(RunCapacityOptions options, HostResources host)
    {
        const string Section = RunCapacityOptions.SectionName;
        var failures = new List<string>();

        long memory = 0;
        if (options.MemoryBytes is not null && options.MemoryReserveBytes is not null)
        {
            failures.Add($"{Section}: set MemoryBytes or MemoryReserveBytes, not both.");
        }
        else if (options.MemoryBytes is { } explicitMemory)
        {
            memory = explicitMemory;
            if (explicitMemory > host.MemoryBytes)
            {
                failures.Add($"{Section}:MemoryBytes is {FormatBytes(explicitMemory)}, more than the host's {FormatBytes(host.MemoryBytes)} "
                    + $"({host.DescribeMemory()}): runs could take the server's memory.");
            }
        }
        else
        {
            var reserve = options.MemoryReserveBytes ?? Math.Max(DefaultMemoryReserveFloorBytes, host.MemoryBytes / 10);
            memory = host.MemoryBytes - reserve;
            if (reserve < 0)
            {
                failures.Add($"{Section}:MemoryReserveBytes must not be negative, not {reserve}.");
            }
        }

        if (failures.Count == 0 && memory < MinimumMemoryBytes)
        {
            failures.Add($"{Section}: runs would get {FormatBytes(memory)} of the host's {FormatBytes(host.MemoryBytes)} "
                + $"({host.DescribeMemory()}); they need at least {FormatBytes(MinimumMemoryBytes)}. Lower MemoryReserveBytes or set MemoryBytes.");
        }

        var processFailures = failures.Count;
        long processes = 0;
        if (options.MaxProcesses is not null && options.ProcessReserve is not null)
        {
            failures.Add($"{Section}: set MaxProcesses or ProcessReserve, not both.");
        }
        else if (options.MaxProcesses is { } explicitProcesses)
        {
            processes = explicitProcesses;
            if (explicitProcesses > host.Processes)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}:MaxProcesses is {explicitProcesses}, more than the host's {host.Processes} ")
                    + $"({host.DescribeProcesses()}): runs could exhaust the pids the server needs.");
            }
        }
        else
        {
            var reserve = options.ProcessReserve ?? Math.Max(DefaultProcessReserveFloor, host.Processes / 10);
            processes = (long)host.Processes - reserve;
            if (reserve < 0)
            {
                failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}:ProcessReserve must not be negative, not {reserve}."));
            }
        }

        if (failures.Count == processFailures && processes < MinimumProcesses)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Section}: runs would get {processes} of the host's {host.Processes} pids ")
                + $"({host.DescribeProcesses()}); they need at least {MinimumProcesses}. Lower ProcessReserve or set MaxProcesses.");
        }

        return failures.Count == 0 ? (new RunCapacity(memory, (int)processes), failures) : (null, failures);
    }

    internal static string FormatBytes(long bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.##} GiB ({bytes} bytes)");
}
