namespace IrisIde.Execution.Batch.Contracts;

// The messages between the web app (which queues jobs and stores results) and whoever runs them
// (the consumer hosted in the web app today, IrisIde.Worker processes over RabbitMQ later).
// Records only; field names are the wire format, so add fields, never rename them.

/// <summary>A source file of a batch job. The first file is the one compiled or run.</summary>
public sealed record BatchFile(string Name, string Content);

/// <summary>Run limits as a program gets them: a job's, clamped to the server's maxima when it was queued; a session's, when it started.</summary>
public sealed record BatchLimits(double WallSeconds, double CpuSeconds, long MemoryBytes, long OutputBytes);

/// <summary>One test case: the program's stdin and the stdout it must print.</summary>
public sealed record BatchTestCase(string? Name, string? Stdin, string ExpectedOutput);

/// <summary>Wire values of <see cref="RunRequested.Comparison"/>.</summary>
public static class OutputComparison
{
    /// <summary>Stdout must equal the expected output character for character.</summary>
    public const string Exact = "exact";

    /// <summary>Stdout and the expected output must hold the same words; how whitespace separates them does not matter.</summary>
    public const string Whitespace = "whitespace";
}

/// <summary>How one test case went: <c>accepted</c>, <c>wrong_answer</c>, or the run's verdict when it did not end <c>ok</c>.</summary>
public sealed record TestCaseResult(
    int Index,
    string? Name,
    string Verdict,
    string Stdout,
    string Stderr,
    int? ExitCode,
    long WallMs,
    long CpuMs,
    long PeakMemoryBytes);

/// <summary>A job to run. <paramref name="JobId"/> is the run record's id: results are idempotent by it.</summary>
public sealed record RunRequested(
    Guid JobId,
    string Language,
    IReadOnlyList<BatchFile> Files,
    string? Stdin,
    BatchLimits? Limits,
    DateTime QueuedAtUtc,
    IReadOnlyList<BatchTestCase>? TestCases = null,
    string? Comparison = null);

/// <summary>
/// A worker has been running the job for <see cref="BatchJobOptions.StartedNoticeDelayMilliseconds"/>; a job
/// over sooner has none (its <see cref="RunCompleted"/> says when it started).
/// </summary>
public sealed record RunStarted(Guid JobId, string WorkerId, DateTime StartedAtUtc);

/// <summary>
/// The job is over. <paramref name="Status"/> is <c>completed</c> when the program (or its compiler)
/// ran to a verdict, <c>failed</c> when it could not run at all (<paramref name="FailureReason"/> says why).
/// </summary>
public sealed record RunCompleted(
    Guid JobId,
    string Status,
    string? Verdict,
    string? FailureReason,
    string? CompileOutput,
    string Stdout,
    string Stderr,
    int? ExitCode,
    int? Signal,
    long WallMs,
    long CpuMs,
    long PeakMemoryBytes,
    string WorkerId,
    DateTime StartedAtUtc,
    DateTime FinishedAtUtc,
    IReadOnlyList<TestCaseResult>? TestCases = null)
{
    /// <summary>A job that could not run at all: <c>failed</c>, with the reason and no output or usage.</summary>
    public static RunCompleted Failure(Guid jobId, string reason, string workerId, DateTime startedAtUtc, DateTime finishedAtUtc) =>
        new(jobId, RunCompletedStatus.Failed, null, reason, null, string.Empty, string.Empty, null, null, 0, 0, 0, workerId, startedAtUtc, finishedAtUtc);
}

/// <summary>Wire values of <see cref="RunCompleted.Status"/>.</summary>
public static class RunCompletedStatus
{
    public const string Completed = "completed";
    public const string Failed = "failed";
}
