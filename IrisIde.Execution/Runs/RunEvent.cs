using IrisIde.Execution.Sandboxing;

namespace IrisIde.Execution.Runs;

public enum OutputStream
{
    Stdout,
    Stderr,
}

public enum RunStage
{
    Compile,
    Run,
}

/// <summary>
/// What happens during a run, in order. Callers map these to their wire format (the iris-runner
/// protocol, SignalR, the batch API); <see cref="RunExited"/> is always last.
/// </summary>
public abstract record RunEvent
{
    /// <summary>Time since the run started.</summary>
    public TimeSpan Elapsed { get; init; }
}

/// <summary>Compilation has started (compiled languages only).</summary>
public sealed record CompileStarted : RunEvent;

/// <summary>Compilation ended. <paramref name="Output"/> is the compiler's stdout and stderr, interleaved, capped.</summary>
public sealed record CompileFinished(bool Succeeded, string Output, SandboxResult Result) : RunEvent;

/// <summary>The program has started (after a successful compile, or at once for interpreted languages).</summary>
public sealed record ProgramStarted : RunEvent;

/// <summary>A chunk of program output, exactly as written, never splitting a UTF-8 character.</summary>
public sealed record OutputChunk(OutputStream Stream, string Text) : RunEvent;

/// <summary>Input accepted for the program (after newline normalisation), for terminals without local echo.</summary>
public sealed record InputEchoed(string Text) : RunEvent;

/// <summary>Something the user should be told that is not program output ("output limit reached").</summary>
public sealed record RunNotice(string Message) : RunEvent;

/// <summary>The run is over. Always the last event.</summary>
public sealed record RunExited(RunOutcome Outcome) : RunEvent;

/// <summary>How a run ended, with usage of the stage that ended it.</summary>
/// <param name="Stage">The stage that decided the outcome (a failed compile ends at <see cref="RunStage.Compile"/>).</param>
/// <param name="ExitCode">The program's own exit code; null if it never ran or died of a signal.</param>
public sealed record RunOutcome(
    Verdict Verdict,
    RunStage Stage,
    int? ExitCode,
    int? Signal,
    TimeSpan WallTime,
    TimeSpan CpuTime,
    long PeakMemoryBytes,
    string? Message)
{
    public static RunOutcome From(SandboxResult result, RunStage stage, Verdict? verdict = null) =>
        new(verdict ?? result.Verdict, stage, result.ExitCode, result.Signal, result.WallTime, result.CpuTime, result.PeakMemoryBytes, result.Message);

    public static RunOutcome Failed(RunStage stage, string message) =>
        new(Verdict.InternalError, stage, null, null, TimeSpan.Zero, TimeSpan.Zero, 0, message);
}
