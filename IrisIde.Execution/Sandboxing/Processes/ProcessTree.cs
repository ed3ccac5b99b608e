using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>Reads a process's place and usage from /proc; a process that exits while it is read reads as gone.</summary>
internal static class ProcessTree
{
    private static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>Whether the kernel keeps children lists and smaps_rollup (gVisor has neither): known once, not per sample.</summary>
    private static readonly bool HasChildrenLists = File.Exists($"/proc/self/task/{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}/children");

    private static readonly bool HasSmapsRollup = File.Exists("/proc/self/smaps_rollup");

    /// <summary>
    /// Every process below <paramref name="root"/>: through the kernel's children lists, or where it keeps none (gVisor)
    /// through every process's parent in /proc.
    /// </summary>
    public static List<int> Descendants(int root)
    {
        var children = HasChildrenLists ? (Func<int, IEnumerable<int>>)ListedChildren : ChildrenByParent();
        var descendants = new List<int>();
        var pending = new Stack<int>(children(root));
        while (pending.TryPop(out var pid))
        {
            descendants.Add(pid);
            foreach (var child in children(pid))
            {
                pending.Push(child);
            }
        }

        return descendants;
    }

    /// <summary>The children of every thread of <paramref name="pid"/> (a child belongs to the thread that forked it).</summary>
    private static IEnumerable<int> ListedChildren(int pid)
    {
        var children = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/task"))
            {
                foreach (var field in ReadOrEmpty(Path.Combine(task, "children")).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    if (int.TryParse(field, NumberStyles.None, CultureInfo.InvariantCulture, out var child))
                    {
                        children.Add(child);
                    }
                }
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Gone.
        }

        return children;
    }

    private static Func<int, IEnumerable<int>> ChildrenByParent()
    {
        var byParent = new Dictionary<int, List<int>>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            // "pid (comm) state ppid ...": comm may hold anything, so the fields start after its last ')'.
            var stat = ReadOrEmpty(Path.Combine(directory, "stat"));
            var end = stat.LastIndexOf(')');
            var fields = end < 0 ? [] : stat[(end + 2)..].Split(' ', 3);
            if (fields.Length > 1 && int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                if (!byParent.TryGetValue(parent, out var siblings))
                {
                    byParent[parent] = siblings = [];
                }

                siblings.Add(pid);
            }
        }

        return pid => byParent.TryGetValue(pid, out var children) ? children : [];
    }

    /// <summary>Clock ticks the process used itself (utime + stime) and those of the children it reaped (cutime + cstime).</summary>
    public static bool TryReadTicks(int pid, out long own, out long reaped)
    {
        own = reaped = 0;
        var stat = ReadOrEmpty($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        var end = stat.LastIndexOf(')');
        if (end < 0)
        {
            return false;
        }

        // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14.
        var fields = stat[(end + 2)..].Split(' ');
        if (fields.Length < 15
            || !long.TryParse(fields[11], NumberStyles.Integer, CultureInfo.InvariantCulture, out var utime)
            || !long.TryParse(fields[12], NumberStyles.Integer, CultureInfo.InvariantCulture, out var stime)
            || !long.TryParse(fields[13], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cutime)
            || !long.TryParse(fields[14], NumberStyles.Integer, CultureInfo.InvariantCulture, out var cstime))
        {
            return false;
        }

        own = utime + stime;
        reaped = cutime + cstime;
        return true;
    }

    /// <summary>
    /// The proportional set size (smaps_rollup's Pss: each shared page divided among its sharers), or the resident size
    /// where the kernel has no smaps_rollup; 0 for a process that is gone.
    /// </summary>
    public static long ProportionalResidentBytes(int pid)
    {
        var id = pid.ToString(CultureInfo.InvariantCulture);
        if (HasSmapsRollup)
        {
            return FindFirstNumber(ReadOrEmpty($"/proc/{id}/smaps_rollup"), "Pss:") is { } pss ? pss * 1024 : 0;
        }

        var statm = ReadOrEmpty($"/proc/{id}/statm").Split(' ');
        return statm.Length > 1 && long.TryParse(statm[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pages) ? pages * PageSize : 0;
    }

    /// <summary>Every process whose real uid is <paramref name="uid"/>, counted by threads (what RLIMIT_NPROC counts).</summary>
    public static int CountThreadsOfUid(uint uid)
    {
        var threads = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(directory);
            if (name.Length == 0 || !char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            var status = ReadOrEmpty(Path.Combine(directory, "status"));
            if (FindFirstNumber(status, "Uid:") == uid && FindFirstNumber(status, "Threads:") is { } count)
            {
                threads += (int)count;
            }
        }

        return threads;
    }

    /// <summary>The first number on the line that starts with <paramref name="key"/> ("Pss:", "Uid:", "Threads:").</summary>
    private static long? FindFirstNumber(string text, string key)
    {
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.StartsWith(key, StringComparison.Ordinal))
            {
                var value = line[key.Length..].TrimStart();
                var end = value.IndexOfAny(' ', '\t');
                return long.TryParse(end < 0 ? value : value[..end], NumberStyles.None, CultureInfo.InvariantCulture, out var number) ? number : null;
            }
        }

        return null;
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
