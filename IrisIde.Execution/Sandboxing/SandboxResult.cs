namespace IrisIde.Execution.Sandboxing;

/// <summary>The final account of one sandboxed process tree.</summary>
/// <param name="ExitCode">The program's own exit code, or null when it died of a signal.</param>
/// <param name="Signal">The signal that ended the program, or null.</param>
/// <param name="Verdict">Why it ended.</param>
/// <param name="WallTime">Start to end, wall clock.</param>
/// <param name="CpuTime">User + system CPU of the whole tree, children included.</param>
/// <param name="PeakMemoryBytes">Peak memory of the whole tree (0 when the sandbox cannot measure it).</param>
/// <param name="Message">A human-readable note for non-ok verdicts ("CPU time limit of 5 s exceeded").</param>
public sealed record SandboxResult(
    int? ExitCode,
    int? Signal,
    Verdict Verdict,
    TimeSpan WallTime,
    TimeSpan CpuTime,
    long PeakMemoryBytes,
    string? Message = null)
{
    /// <summary>The exit code a shell would report: the program's code, or 128 + signal.</summary>
    public int ShellExitCode => ExitCode ?? (128 + (Signal ?? 0));
}
