using System.Globalization;
using System.Runtime.InteropServices;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>Reading pids out of cgroup.procs and killing them until none is left.</summary>
internal static class CgroupProcesses
{
    public static IReadOnlyList<int> Parse(string text)
    {
        var pids = new List<int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && pid > 0)
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>
    /// The shared part of <see cref="ICgroupHierarchy.ReleaseFrozenRuns"/>: for every run directory below
    /// <paramref name="parent"/> that <paramref name="isFrozen"/> says is frozen, SIGKILL the pids of its
    /// <c>cgroup.procs</c> (queued while frozen), then <paramref name="thaw"/> it so the kills land.
    /// </summary>
    public static int ReleaseFrozenRuns(
        ICgroupFileSystem fileSystem, string parent, Func<string, bool> isFrozen, Action<string> thaw, Microsoft.Extensions.Logging.ILogger logger)
    {
        var released = 0;
        foreach (var run in fileSystem.EnumerateDirectories(parent))
        {
            try
            {
                if (!isFrozen(run))
                {
                    continue;
                }

                var pids = Parse(fileSystem.ReadAllText(Path.Combine(run, "cgroup.procs")));
                foreach (var pid in pids)
                {
                    _ = Interop.Kill(pid, Interop.SIGKILL);
                }

                thaw(run);
                released++;
                CgroupLog.ReleasedFrozenRun(logger, run, pids.Count);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Removed while we looked (its owner finished its teardown), or not ours to touch.
            }
        }

        return released;
    }

    /// <summary>
    /// SIGKILLs every listed pid, again and again, until the list is empty. A fork loop can add a
    /// child between our read and our kill, so one pass is never enough (freezing first, where the
    /// hierarchy can, closes that window). A pid that no longer exists (ESRCH) counts as gone: the
    /// kernel stops listing exited processes, and a fake root of plain files never does.
    /// </summary>
    public static async Task<bool> KillUntilEmptyAsync(
        Func<IReadOnlyList<int>> readProcesses, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var alive = 0;
            foreach (var pid in readProcesses())
            {
                if (Interop.Kill(pid, Interop.SIGKILL) == 0 || Marshal.GetLastPInvokeError() != Interop.ESRCH)
                {
                    alive++;
                }
            }

            if (alive == 0)
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            // Killed processes leave the cgroup only once they have finished exiting.
            await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
        }
    }

    /// <summary>rmdir with retries: a cgroup stays busy for a moment while its last tasks finish exiting.</summary>
    public static async Task<bool> DeleteDirectoryAsync(ICgroupFileSystem fileSystem, string path, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (fileSystem.DirectoryExists(path))
                {
                    fileSystem.DeleteDirectory(path);
                }

                return true;
            }
            catch (IOException) when (attempt < 50)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
            }
            catch (IOException)
            {
                return false;
            }
        }
    }

    /// <summary>Reads "key value" lines (memory.events, cpu.stat, memory.oom_control).</summary>
    public static long ReadKeyedValue(ICgroupFileSystem fileSystem, string path, string key) =>
        fileSystem.TryReadAllText(path) is { } text ? ParseKeyedValue(text, key) : 0;

    /// <summary>The value of <paramref name="key"/> in "key value" lines; 0 when it is not there.</summary>
    public static long ParseKeyedValue(string text, string key)
    {
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return 0;
    }

    public static long ReadNumber(ICgroupFileSystem fileSystem, string path)
    {
        var text = fileSystem.TryReadAllText(path)?.Trim();
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    public static bool IsBusy(IOException exception) =>
        exception.HResult == Interop.EBUSY || exception.Message.Contains("busy", StringComparison.OrdinalIgnoreCase);
}
