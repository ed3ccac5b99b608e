using System.Globalization;
using System.Text.Json;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// The two files a run reports through, opened by the launcher (as root, in the host's private runtime folder) and
/// written by descriptor: bwrap's <c>--json-status-fd</c>, or the same lines from the launcher when it builds the sandbox
/// itself ("child-pid" once the sandbox's pid 1 is started, "exit-code" when it ended), and our init's line saying how
/// the program itself ended.
/// </summary>
internal sealed record RunStatusFiles(string BwrapStatus, string ProgramStatus)
{
    public const int BwrapStatusDescriptor = 3;
    public const int ProgramStatusDescriptor = 4;

    public static RunStatusFiles For(string directory, string runId) =>
        new(Path.Combine(directory, runId + ".bwrap"), Path.Combine(directory, runId + ".exit"));

    /// <summary>True once init has written the program's end.</summary>
    public bool ProgramEnded() => new FileInfo(ProgramStatus) is { Exists: true, Length: > 0 };

    /// <summary>What the files say; missing parts are null (a run killed before it got that far).</summary>
    public RunStatus Read()
    {
        int? initPid = null;
        int? bwrapExitCode = null;
        if (File.Exists(BwrapStatus))
        {
            foreach (var line in File.ReadAllLines(BwrapStatus))
            {
                try
                {
                    using var document = JsonDocument.Parse(line);
                    if (document.RootElement.TryGetProperty("child-pid", out var child) && child.TryGetInt32(out var pid))
                    {
                        initPid = pid;
                    }

                    if (document.RootElement.TryGetProperty("exit-code", out var code) && code.TryGetInt32(out var value))
                    {
                        bwrapExitCode = value;
                    }
                }
                catch (JsonException)
                {
                    // A half-written line from a bwrap killed mid-write.
                }
            }
        }

        int? exitCode = null;
        int? signal = null;
        if (File.Exists(ProgramStatus))
        {
            // "exited N" or "signaled N", written once by init when the program ends.
            var parts = File.ReadAllText(ProgramStatus).Split(' ', '\n');
            if (parts.Length >= 2 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                (exitCode, signal) = parts[0] switch
                {
                    "exited" => ((int?)value, (int?)null),
                    "signaled" => (null, value),
                    _ => (null, null),
                };
            }
        }

        return new RunStatus(initPid, bwrapExitCode, exitCode, signal);
    }

    public void Delete()
    {
        File.Delete(BwrapStatus);
        File.Delete(ProgramStatus);
    }
}

/// <param name="InitPid">Host pid of the sandbox's pid 1; null when bwrap never got that far.</param>
/// <param name="BwrapExitCode">bwrap's own exit code (pid 1's): 128 + n for a signal, so ambiguous.</param>
/// <param name="ExitCode">The program's exact exit code, when it exited.</param>
/// <param name="Signal">The signal that ended the program, when one did.</param>
internal readonly record struct RunStatus(int? InitPid, int? BwrapExitCode, int? ExitCode, int? Signal)
{
    public bool ProgramEnded => ExitCode is not null || Signal is not null;
}
