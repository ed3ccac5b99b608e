using System.Globalization;

namespace IrisIde.Tests.Support;

/// <summary>Looks at the host's process table, the way an administrator would after a run.</summary>
public static class HostProcesses
{
    /// <summary>Pids of live (non-zombie) processes whose real uid is <paramref name="uid"/>.</summary>
    public static IReadOnlyList<int> OwnedBy(int uid)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var lines = File.ReadAllLines(Path.Combine(dir, "status"));
                var state = lines.FirstOrDefault(l => l.StartsWith("State:", StringComparison.Ordinal)) ?? string.Empty;
                var uidLine = lines.FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                var realUid = uidLine?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries)[1];
                if (realUid == uid.ToString(CultureInfo.InvariantCulture) && !state.Contains('Z', StringComparison.Ordinal))
                {
                    pids.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
        }

        return pids;
    }

    /// <summary>Waits briefly for processes to disappear (the kernel reaps asynchronously), then reports what is left.</summary>
    public static async Task<IReadOnlyList<int>> RemainingAfterAsync(int uid, TimeSpan grace)
    {
        var deadline = DateTime.UtcNow + grace;
        IReadOnlyList<int> left;
        do
        {
            left = OwnedBy(uid);
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
