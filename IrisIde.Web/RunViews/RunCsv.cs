using System.Globalization;
using System.Text;

namespace IrisIde.Web.RunViews;

/// <summary>
/// The course runs export as CSV (RFC 4180: comma-separated, CRLF, quoted where needed). Spreadsheets run a cell
/// that starts with <c>=</c>, <c>+</c>, <c>-</c> or <c>@</c> (and tab or carriage return) as a formula, and a
/// student chooses some of what ends up in a cell (their email, a language name sent to the batch API), so such a
/// cell gets a leading apostrophe (OWASP's advice) and is read as text.
/// </summary>
public static class RunCsv
{
    public const string Header = "run_id,started_at_utc,student,course,language,surface,status,verdict,exit_code,signal,wall_ms,cpu_ms,peak_memory_bytes";

    public static string Line(RunRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        string?[] cells =
        [
            row.Id.ToString(),
            row.StartedAtUtc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            row.OwnerEmail ?? row.OwnerId,
            row.CourseCode,
            row.Language,
            row.Surface,
            row.Status.ToString().ToLowerInvariant(),
            row.Verdict,
            Number(row.ExitCode),
            Number(row.Signal),
            Number(row.WallMs),
            Number(row.CpuMs),
            Number(row.PeakMemoryBytes),
        ];
        return string.Join(',', cells.Select(Cell));
    }

    /// <summary>One cell: defused when a spreadsheet would take it for a formula, quoted when it holds a comma, quote or line break.</summary>
    public static string Cell(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "";
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            return value;
        }

        var quoted = new StringBuilder(value.Length + 2).Append('"');
        quoted.Append(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        return quoted.Append('"').ToString();
    }

    private static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);
}
