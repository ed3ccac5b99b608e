using System.Globalization;

namespace IrisIde.Tests.Support;

/// <summary>Looks at the host's process table, the way an administrator would after a run.</summary>
public static class HostProcesses
{
    /// <summary>One process in the host's table, as /proc/&lt;pid&gt;/status and cmdline describe it.</summary>
    public sealed record HostProcess(int Pid, int ParentPid, bool IsZombie, string Description);

    /// <summary>
    /// Every process (zombies included) with a uid of [<paramref name="uid"/>, <paramref name="uid"/> +
    /// <paramref name="count"/>) as its real, effective, saved or filesystem uid (runs take their uid from a range).
    /// </summary>
    public static IReadOnlyList<HostProcess> All(int uid, int count = 1)
    {
        var found = new List<HostProcess>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var status = File.ReadAllLines(Path.Combine(dir, "status"));
                string Field(string name) => status.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal)) ?? string.Empty;
                var uids = Field("Uid:").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1);
                if (!uids.Any(u => int.TryParse(u, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id >= uid && id < uid + count))
                {
                    continue;
                }

                var parent = int.TryParse(Field("PPid:").AsSpan(5).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var ppid) ? ppid : 0;
                var state = Field("State:");
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var cgroup = File.ReadAllLines(Path.Combine(dir, "cgroup")).FirstOrDefault(l => l.Contains("iris", StringComparison.Ordinal)) ?? "no run cgroup";
                found.Add(new HostProcess(pid, parent, state.Contains('Z', StringComparison.Ordinal), $"{pid} {status[0]} {state} {Field("PPid:")} {Field("NSpid:")} {cgroup} {cmdline}"));
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        return found;
    }

    /// <summary>Fails with every process left, in full (Assert.Empty would cut each description short).</summary>
    public static void AssertNoneLeft(IReadOnlyList<string> left) =>
        Assert.True(left.Count == 0, $"{left.Count} process(es) left on the host:\n" + string.Join('\n', left));

    /// <summary>Pids of live (non-zombie) processes owned by <paramref name="uid"/>.</summary>
    public static IReadOnlyList<int> OwnedBy(int uid, int count = 1) => [.. All(uid, count).Where(p => !p.IsZombie).Select(p => p.Pid)];

    /// <summary>Live (non-zombie) processes owned by <paramref name="uid"/>, each as pid, name, state, parent and command line.</summary>
    public static IReadOnlyList<string> LiveOwnedBy(int uid, int count = 1) => [.. All(uid, count).Where(p => !p.IsZombie).Select(p => p.Description)];

    /// <summary>
    /// Processes (zombies included) owned by <paramref name="uid"/> that descend from this test process or
    /// were orphaned to init — not those of another test run sharing the machine.
    /// </summary>
    public static IReadOnlyList<string> OursOwnedBy(int uid, int count = 1)
    {
        var all = All(uid, count);
        return [.. all.Where(p => IsOurs(p.Pid)).Select(p => p.Description)];
    }

    private static bool IsOurs(int pid)
    {
        for (var current = pid; current > 1;)
        {
            var parent = ParentOf(current);
            if (parent == Environment.ProcessId || parent == 1)
            {
                return true;
            }

            if (parent is null or 0)
            {
                return false;
            }

            current = parent.Value;
        }

        return false;
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("PPid:", StringComparison.Ordinal));
            return int.Parse(line.AsSpan(5).Trim(), CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Waits briefly for processes to disappear (the kernel reaps asynchronously), then reports what is left.</summary>
    public static async Task<IReadOnlyList<int>> RemainingAfterAsync(int uid, TimeSpan grace, int count = 1)
    {
        var deadline = DateTime.UtcNow + grace;
        IReadOnlyList<int> left;
        do
        {
            left = OwnedBy(uid, count);
            if (left.Count == 0)
            {
                return left;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return left;
    }
}
