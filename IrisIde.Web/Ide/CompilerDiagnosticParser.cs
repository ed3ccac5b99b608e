using System.Globalization;
using System.Text.RegularExpressions;

namespace IrisIde.Web.Ide;

/// <summary>
/// Turns compiler output into diagnostics the editor can show as markers. Understands the formats of
/// gcc/g++/clang (<c>main.c:3:5: error: ...</c>, also without a column), javac (<c>Main.java:3: error: ...</c>,
/// column taken from the caret line), go (<c>./main.go:3:5: ...</c>), rustc (<c>error[E0425]: ...</c> then
/// <c> --> main.rs:3:5</c>) and tsc (<c>main.ts(1,5): error TS2322: ...</c> and its <c>--pretty</c> form).
/// </summary>
/// <remarks>
/// Compiler output is untrusted text (it quotes the student's source), so the parser never throws on
/// it: ANSI colour codes are stripped, lines it does not recognise are skipped, and the number of
/// diagnostics is capped. When file names are given, only diagnostics in those files are kept — the
/// run's own files, not system headers or generated declaration files.
/// </remarks>
public static partial class CompilerDiagnosticParser
{
    /// <summary>More than this many markers help nobody and cost the browser; the terminal still shows all output.</summary>
    public const int MaxDiagnostics = 200;

    private const int MaxMessageLength = 1000;

    /// <summary>Parses <paramref name="output"/>; keeps only diagnostics in <paramref name="fileNames"/> when given.</summary>
    public static IReadOnlyList<CompilerDiagnostic> Parse(string? output, IReadOnlyCollection<string>? fileNames = null)
    {
        if (string.IsNullOrEmpty(output))
        {
            return [];
        }

        var found = new List<CompilerDiagnostic>();
        try
        {
            ParseInto(found, output, fileNames is null ? null : new HashSet<string>(fileNames, StringComparer.Ordinal));
        }
        catch (RegexMatchTimeoutException)
        {
            // Pathological output: keep what was understood before it.
        }

        return found;
    }

    private static void ParseInto(List<CompilerDiagnostic> found, string output, HashSet<string>? files)
    {
        var lines = StripAnsi(output).Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        (DiagnosticSeverity Severity, string Message)? rustHeader = null;

        for (var i = 0; i < lines.Length && found.Count < MaxDiagnostics; i++)
        {
            var line = lines[i].TrimEnd();
            if (line.Length == 0)
            {
                rustHeader = null;
                continue;
            }

            var tsc = TscLine().Match(line);
            if (!tsc.Success)
            {
                tsc = TscPrettyLine().Match(line);
            }

            if (tsc.Success)
            {
                Add(tsc.Groups["file"].Value, tsc.Groups["line"].Value, tsc.Groups["col"].Value, SeverityOf(tsc.Groups["sev"].Value),
                    $"{tsc.Groups["msg"].Value} ({tsc.Groups["code"].Value})");
                continue;
            }

            if (GccLine().Match(line) is { Success: true } gcc)
            {
                rustHeader = null;
                var column = gcc.Groups["col"].Value;
                var message = gcc.Groups["msg"].Value;
                if (column.Length == 0)
                {
                    // javac and gcc -fno-show-column: the caret under the quoted source line says where.
                    column = ColumnFromCaret(lines, i + 1)?.ToString(CultureInfo.InvariantCulture) ?? string.Empty;
                    message = WithJavacDetails(message, lines, i + 1);
                }

                Add(gcc.Groups["file"].Value, gcc.Groups["line"].Value, column, SeverityOf(gcc.Groups["sev"].Value), message);
                continue;
            }

            if (RustHeader().Match(line) is { Success: true } header)
            {
                var code = header.Groups["code"].Value;
                var text = code.Length > 0 ? $"{header.Groups["msg"].Value} ({code})" : header.Groups["msg"].Value;
                rustHeader = (SeverityOf(header.Groups["sev"].Value), text);
                continue;
            }

            if (RustLocation().Match(line) is { Success: true } location)
            {
                if (rustHeader is { } pending)
                {
                    Add(location.Groups["file"].Value, location.Groups["line"].Value, location.Groups["col"].Value, pending.Severity, pending.Message);
                    rustHeader = null;
                }

                continue;
            }

            if (PlainLocationLine().Match(line) is { Success: true } plain)
            {
                // go reports errors without a severity word.
                Add(plain.Groups["file"].Value, plain.Groups["line"].Value, plain.Groups["col"].Value, DiagnosticSeverity.Error, plain.Groups["msg"].Value);
            }
        }

        void Add(string file, string line, string column, DiagnosticSeverity severity, string message)
        {
            var name = NormalizeFile(file);
            if (files is not null && !files.Contains(name))
            {
                return;
            }

            if (!int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var lineNumber) || lineNumber <= 0)
            {
                return;
            }

            var columnNumber = int.TryParse(column, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c > 0 ? c : 1;
            var trimmed = message.Trim();
            if (trimmed.Length > MaxMessageLength)
            {
                trimmed = string.Concat(trimmed.AsSpan(0, MaxMessageLength), "…");
            }

            found.Add(new CompilerDiagnostic(name, lineNumber, columnNumber, severity, trimmed));
        }
    }

    /// <summary>Removes ANSI escape sequences (colours from <c>-fdiagnostics-color</c>, hyperlinks).</summary>
    public static string StripAnsi(string text) =>
        text.Contains('\u001b', StringComparison.Ordinal) ? AnsiEscape().Replace(text, string.Empty) : text;

    private static string NormalizeFile(string file)
    {
        var name = file.Trim();
        while (name.StartsWith("./", StringComparison.Ordinal))
        {
            name = name[2..];
        }

        // A run's files are flat (no folders), so a path such as /tmp/x/main.c is compared by its name.
        var slash = name.LastIndexOf('/');
        return slash >= 0 ? name[(slash + 1)..] : name;
    }

    private static DiagnosticSeverity SeverityOf(string word) => word switch
    {
        "warning" => DiagnosticSeverity.Warning,
        "note" or "help" or "remark" or "message" => DiagnosticSeverity.Note,
        _ => DiagnosticSeverity.Error,
    };

    /// <summary>
    /// javac prints the source line, then a line with only a caret under the column; gcc without columns
    /// prints <c>  |    ^~~</c>. Looks at the two lines after the diagnostic.
    /// </summary>
    private static int? ColumnFromCaret(string[] lines, int start)
    {
        for (var i = start; i < Math.Min(lines.Length, start + 2); i++)
        {
            if (JavacCaret().Match(lines[i]) is { Success: true } javac)
            {
                return javac.Groups["pad"].Value.Length + 1;
            }

            if (GccCaret().Match(lines[i]) is { Success: true } gcc)
            {
                // gcc puts one space after the bar before the quoted source.
                return Math.Max(1, gcc.Groups["pad"].Value.Length);
            }
        }

        return null;
    }

    /// <summary>javac explains "cannot find symbol" in indented lines right after the caret (symbol, location).</summary>
    private static string WithJavacDetails(string message, string[] lines, int start)
    {
        var caret = Enumerable.Range(start, Math.Max(0, Math.Min(2, lines.Length - start)))
            .Where(i => JavacCaret().IsMatch(lines[i]))
            .Select(i => (int?)i)
            .FirstOrDefault();
        if (caret is not { } at)
        {
            return message;
        }

        var details = new List<string>();
        for (var i = at + 1; i < lines.Length && details.Count < 6 && JavacDetail().Match(lines[i]) is { Success: true } detail; i++)
        {
            details.Add(detail.Groups["text"].Value.Trim());
        }

        return details.Count == 0 ? message : $"{message}\n{string.Join('\n', details)}";
    }

    [GeneratedRegex(@"\x1B(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1B]*(?:\x07|\x1B\\)|[@-Z\\-_])", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex AnsiEscape();

    // file:line[:col]: severity: message (gcc, g++, clang, javac). The file has no colon or parenthesis.
    [GeneratedRegex(@"^(?<file>[^\s:(][^:(]*?):(?<line>\d+):(?:(?<col>\d+):)?\s+(?<sev>fatal error|error|warning|note|remark):\s*(?<msg>.*)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex GccLine();

    // file:line:col: message (go, and any tool that leaves out the severity).
    [GeneratedRegex(@"^(?<file>[^\s:(][^:(]*?\.[A-Za-z0-9+]+):(?<line>\d+):(?<col>\d+):\s+(?<msg>\S.*)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex PlainLocationLine();

    [GeneratedRegex(@"^(?<sev>error|warning|note|help)(?:\[(?<code>[A-Za-z0-9_]+)\])?:\s*(?<msg>.+)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex RustHeader();

    [GeneratedRegex(@"^\s*-->\s*(?<file>[^:\s][^:]*):(?<line>\d+):(?<col>\d+)\s*$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex RustLocation();

    [GeneratedRegex(@"^(?<file>[^\s(][^(]*?)\((?<line>\d+),(?<col>\d+)\):\s+(?<sev>error|warning|message)\s+(?<code>TS\d+):\s*(?<msg>.*)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex TscLine();

    [GeneratedRegex(@"^(?<file>[^\s:(][^:(]*?):(?<line>\d+):(?<col>\d+)\s+-\s+(?<sev>error|warning|message)\s+(?<code>TS\d+):\s*(?<msg>.*)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex TscPrettyLine();

    [GeneratedRegex(@"^(?<pad>\s*)\^\s*$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex JavacCaret();

    [GeneratedRegex(@"^\s*\d*\s*\|(?<pad>\s*)\^", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex GccCaret();

    [GeneratedRegex(@"^\s+(?<text>(?:symbol|location|required|found|reason)\s*:.*)$", RegexOptions.CultureInvariant, 1000)]
    private static partial Regex JavacDetail();
}
