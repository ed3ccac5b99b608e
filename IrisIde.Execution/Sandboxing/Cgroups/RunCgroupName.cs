using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>
/// Run cgroups are named after the server process that owns them:
/// run-&lt;pid namespace&gt;-&lt;pid&gt;-&lt;start time&gt;-&lt;run id&gt;.
/// Why: several server processes can share one parent (two workers in one service cgroup, test
/// processes side by side), so a server starting up must tell a crashed server's leftovers, which it
/// may kill, from a live neighbour's runs, which it must not touch. The start time (clock ticks since
/// boot, /proc/&lt;pid&gt;/stat) tells a reused pid from the owner; a pid of another pid namespace cannot
/// be looked up from here, so such a run is never judged gone.
/// </summary>
internal static class RunCgroupName
{
    private static readonly Lazy<string> Owner = new(() =>
        string.Create(CultureInfo.InvariantCulture, $"{PidNamespace()}-{Environment.ProcessId}-{StartTime(Environment.ProcessId)}"));

    public static string For(string runId) => $"run-{Owner.Value}-{runId}";

    /// <summary>
    /// True when the name says its owner is a process of our pid namespace that no longer runs; false
    /// when the owner is alive, out of sight, or the name carries no owner (a run of an older server:
    /// left alone, except when frozen).
    /// </summary>
    public static bool OwnerIsGone(string name)
    {
        var parts = name.Split('-');
        if (parts is not ["run", var namespaceText, var pidText, var startText, _]
            || namespaceText != PidNamespace()
            || !int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(startText, NumberStyles.None, CultureInfo.InvariantCulture, out var start))
        {
            return false;
        }

        return StartTime(pid) != start;
    }

    /// <summary>The inode of our pid namespace ("pid:[4026531836]" → "4026531836").</summary>
    internal static string PidNamespace()
    {
        var link = new FileInfo("/proc/self/ns/pid").LinkTarget ?? "";
        return link.StartsWith("pid:[", StringComparison.Ordinal) && link.EndsWith(']') ? link[5..^1] : "0";
    }

    /// <summary>Field 22 of /proc/&lt;pid&gt;/stat, or -1 when there is no such process.</summary>
    private static long StartTime(int pid)
    {
        try
        {
            // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so count from the last ')'.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return -1;
        }
    }
}
