using System.Globalization;

namespace IrisIde.Web.Ide;

public enum RunPhase
{
    Idle,
    Starting,
    Compiling,
    Running,
    Exited,
    Failed,
}

/// <summary>
/// The IDE's status line as an immutable state machine: Idle → Starting → (Compiling →) Running →
/// Exited, or Failed from any active phase. Each method returns the next state, or the same instance
/// when the event makes no sense in the current phase (a late <c>running</c> after <c>exit</c>, a second
/// <c>started</c>), so a component can apply every hub event it receives without checking first.
/// </summary>
public sealed record RunStatus
{
    /// <summary>Nothing has run yet (or the status was reset).</summary>
    public static readonly RunStatus Idle = new();

    private RunStatus()
    {
    }

    public RunPhase Phase { get; private init; } = RunPhase.Idle;

    /// <summary>The run's id from the <c>started</c> event; null until then.</summary>
    public string? RunId { get; private init; }

    /// <summary>Set in <see cref="RunPhase.Exited"/>: the hub's wire verdict (<c>ok</c>, <c>time_limit</c>, ...).</summary>
    public string? Verdict { get; private init; }

    /// <summary>Set in <see cref="RunPhase.Exited"/>: <c>compile</c> or <c>run</c>.</summary>
    public string? Stage { get; private init; }

    public int? ExitCode { get; private init; }

    public int? Signal { get; private init; }

    public long? TimeMs { get; private init; }

    public long? MemoryBytes { get; private init; }

    /// <summary>Why the run ended or failed, when there is something to say.</summary>
    public string? Message { get; private init; }

    /// <summary>A run is on its way or going: Run should be disabled and Stop enabled.</summary>
    public bool IsActive => Phase is RunPhase.Starting or RunPhase.Compiling or RunPhase.Running;

    /// <summary>The user pressed Run (before the hub answers). Allowed when no run is active.</summary>
    public RunStatus Begin() => IsActive ? this : new RunStatus { Phase = RunPhase.Starting };

    /// <summary>The hub's <c>started</c> event.</summary>
    public RunStatus Started(string runId) =>
        Phase == RunPhase.Starting && RunId is null && !string.IsNullOrEmpty(runId) ? this with { RunId = runId } : this;

    /// <summary>The hub's <c>compiling</c> event.</summary>
    public RunStatus Compiling() => Phase == RunPhase.Starting ? this with { Phase = RunPhase.Compiling } : this;

    /// <summary>The hub's <c>running</c> event.</summary>
    public RunStatus Running() => Phase is RunPhase.Starting or RunPhase.Compiling ? this with { Phase = RunPhase.Running } : this;

    /// <summary>The hub's <c>exit</c> event (always the last one of a run).</summary>
    public RunStatus Exited(string verdict, string stage, int? exitCode, int? signal, long timeMs, long memoryBytes, string? message = null) =>
        IsActive
            ? this with
            {
                Phase = RunPhase.Exited,
                Verdict = verdict,
                Stage = stage,
                ExitCode = exitCode,
                Signal = signal,
                TimeMs = timeMs,
                MemoryBytes = memoryBytes,
                Message = message,
            }
            : this;

    /// <summary>The hub's <c>error</c> event, or the connection failed: the run could not start or was lost.</summary>
    public RunStatus Failed(string message) => IsActive ? this with { Phase = RunPhase.Failed, Message = message } : this;

    /// <summary>Back to <see cref="Idle"/> (a new document, a language switch).</summary>
    public RunStatus Reset() => IsActive ? this : Idle;

    /// <summary>
    /// The status line text: "Ready", "Starting…", "Compiling…", "Running…",
    /// "Exited with code 0 · ok · 0.05 s · 3.7 MB", "Killed by signal 9 · killed: ended by an admin (a@b) · 1.20 s · 3.1 MB",
    /// "Compilation failed · compile_error · 0.31 s · 41.0 MB", "Failed: too many runs".
    /// Memory is shown in MB of 1024 × 1024 bytes. The server's reason follows the verdict (who or what stopped the
    /// run, which limit it crossed), except for a compile error, whose reason is the compiler's output above.
    /// </summary>
    public string Describe() => Phase switch
    {
        RunPhase.Idle => "Ready",
        RunPhase.Starting => "Starting…",
        RunPhase.Compiling => "Compiling…",
        RunPhase.Running => "Running…",
        RunPhase.Exited => DescribeExit(),
        _ => $"Failed: {Message}",
    };

    private string DescribeExit()
    {
        var parts = new List<string>(4)
        {
            Verdict == "compile_error" ? "Compilation failed"
                : Signal is { } signal ? $"Killed by signal {signal.ToString(CultureInfo.InvariantCulture)}"
                : ExitCode is { } code ? $"Exited with code {code.ToString(CultureInfo.InvariantCulture)}"
                : "Ended",
            Verdict is null ? "unknown"
                : Verdict != "compile_error" && !string.IsNullOrWhiteSpace(Message) ? $"{Verdict}: {Message}"
                : Verdict,
        };
        if (TimeMs is { } ms)
        {
            parts.Add(FormatTime(ms));
        }

        if (MemoryBytes is > 0 and { } bytes)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MB"));
        }

        return string.Join(" · ", parts);
    }

    private static string FormatTime(long ms) => ms switch
    {
        < 10_000 => string.Create(CultureInfo.InvariantCulture, $"{ms / 1000.0:0.00} s"),
        < 60_000 => string.Create(CultureInfo.InvariantCulture, $"{ms / 1000.0:0.0} s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{ms / 60_000} min {ms % 60_000 / 1000} s"),
    };
}
