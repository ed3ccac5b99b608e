using System.Text;

namespace IrisIde.Execution.Workspaces;

/// <summary>The mount points of this process's mount namespace, from <c>/proc/self/mountinfo</c>.</summary>
internal static class MountTable
{
    /// <summary>
    /// The mount points at or below <paramref name="folder"/>, deepest first (the order to unmount them in).
    /// A point mounted twice is listed twice.
    /// </summary>
    public static IReadOnlyList<string> MountPointsUnder(string folder, string mountInfoPath = "/proc/self/mountinfo")
    {
        var prefix = folder.TrimEnd('/') + "/";
        var points = new List<string>();
        foreach (var line in File.ReadLines(mountInfoPath))
        {
            if (ParseMountPoint(line) is { } point && (point == prefix[..^1] || point.StartsWith(prefix, StringComparison.Ordinal)))
            {
                points.Add(point);
            }
        }

        return [.. points.OrderByDescending(p => p.Count(c => c == '/')).ThenByDescending(p => p.Length)];
    }

    /// <summary>The fifth field of a mountinfo line, with its octal escapes (<c>\040</c> for a space, ...) decoded.</summary>
    internal static string? ParseMountPoint(string line)
    {
        var fields = line.Split(' ');
        return fields.Length > 4 ? Unescape(fields[4]) : null;
    }

    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var bytes = new List<byte>(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length && IsOctal(field[i + 1]) && IsOctal(field[i + 2]) && IsOctal(field[i + 3]))
            {
                bytes.Add((byte)(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) | (field[i + 3] - '0')));
                i += 3;
            }
            else
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(field[i].ToString()));
            }
        }

        return Encoding.UTF8.GetString([.. bytes]);
    }

    private static bool IsOctal(char c) => c is >= '0' and <= '7';
}
