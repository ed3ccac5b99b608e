namespace IrisIde.Execution.Workspaces;

/// <summary>
/// Rules for file names that come from clients. A name becomes a path on the host and an argument on
/// a compiler's command line, so it is held to a strict allow-list: no separators, no "..", no leading
/// dot or dash (hidden files, option injection), no control, bidi or other non-ASCII characters.
/// </summary>
public static class SourceFileName
{
    public const int MaxLength = 100;

    /// <summary>Returns null when <paramref name="name"/> is acceptable, else why not.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "file name is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"file name is longer than {MaxLength} characters";
        }

        if (name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal))
        {
            return "file name must not contain a path separator";
        }

        if (name.Contains("..", StringComparison.Ordinal))
        {
            return "file name must not contain '..'";
        }

        if (name[0] is '.' or '-')
        {
            return "file name must not start with '.' or '-'";
        }

        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return "file name must not contain control characters";
            }

            if (IsBidiControl(c))
            {
                return "file name must not contain bidirectional control characters";
            }

            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.' or '+'))
            {
                return $"file name may contain only ASCII letters, digits, '_', '-', '+' and '.' (found U+{(int)c:X4})";
            }
        }

        return null;
    }

    private static bool IsBidiControl(char c) =>
        c is '\u061C' or '\u200E' or '\u200F' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
