namespace IrisIde.Web.Persistence;

public enum RunKind
{
    Batch,
    Interactive,
}

/// <summary>Where a run was asked for, as stored in <see cref="RunRecord.Surface"/> and filtered by the runs API.</summary>
public static class RunSurfaces
{
    /// <summary>The IDE's execution hub.</summary>
    public const string Ide = "ide";

    /// <summary>The iris-runner protocol at <c>/ws</c> or <c>/run</c>.</summary>
    public const string WebSocket = "ws";

    /// <summary>The batch APIs (<c>POST /run-code</c>, <c>POST /api/v1/runs</c>).</summary>
    public const string Batch = "batch";

    public static readonly IReadOnlyList<string> All = [Ide, WebSocket, Batch];
}

public enum RunRecordStatus
{
    Queued,
    Running,
    Completed,
    Failed,
}

/// <summary>
/// One run, batch or interactive, from queueing to its result: the batch API and the run history read it.
/// Interactive runs are recorded by <c>RecordingSessionHost</c>; their output is in the transcript
/// (<see cref="IrisIde.Web.History.RunTranscriptChunk"/>), not in <see cref="Stdout"/>. Files and limits are JSON text so both providers store them the same way.
/// Outputs are capped before they get here.
/// </summary>
public sealed class RunRecord
{
    public const int MaxCallbackUrlLength = 2048;

    public const int MaxCallbackErrorLength = 1024;

    public Guid Id { get; set; }

    public string? Owner { get; set; }

    public string? Course { get; set; }

    /// <summary>
    /// The admission key of the client that asked (<c>user:{id}</c> or <c>ip:{address}</c>), so per-client
    /// caps count jobs however many web replicas accept them.
    /// </summary>
    public string? ClientKey { get; set; }

    public RunKind Kind { get; set; }

    /// <summary>Where the run was asked for: one of <see cref="RunSurfaces"/>. Rows from before the history are batch runs.</summary>
    public string Surface { get; set; } = RunSurfaces.Batch;

    /// <summary>The session host that ran an interactive run (<c>local</c>, <c>docker</c>, ...); null for batch runs.</summary>
    public string? Backend { get; set; }

    /// <summary>The transcript reached <c>Iris:History:MaxTranscriptBytes</c> and was cut there (a marker event says where).</summary>
    public bool TranscriptTruncated { get; set; }

    /// <summary>
    /// Some transcript chunks never reached the database (the history queue overflowed or the database kept
    /// refusing them): the transcript has gaps. The run itself was not affected.
    /// </summary>
    public bool TranscriptIncomplete { get; set; }

    public RunRecordStatus Status { get; set; }

    public required string Language { get; set; }

    /// <summary>JSON array of <c>{"name","content"}</c>.</summary>
    public required string FilesJson { get; set; }

    public string? Stdin { get; set; }

    /// <summary>JSON of the run limits the job got (after clamping).</summary>
    public required string LimitsJson { get; set; }

    public DateTime QueuedAtUtc { get; set; }

    public DateTime? StartedAtUtc { get; set; }

    public DateTime? FinishedAtUtc { get; set; }

    public string? CompileOutput { get; set; }

    public string? Stdout { get; set; }

    public string? Stderr { get; set; }

    public int? ExitCode { get; set; }

    public int? Signal { get; set; }

    /// <summary>Wire name: <c>ok</c>, <c>compile_error</c>, <c>time_limit</c>, ...</summary>
    public string? Verdict { get; set; }

    public long? WallMs { get; set; }

    public long? CpuMs { get; set; }

    public long? PeakMemoryBytes { get; set; }

    public string? WorkerId { get; set; }

    public string? FailureReason { get; set; }

    /// <summary>JSON array of <c>{"name","stdin","expectedOutput"}</c>; null for a plain run.</summary>
    public string? TestCasesJson { get; set; }

    /// <summary><c>exact</c> or <c>whitespace</c> when the run has test cases.</summary>
    public string? Comparison { get; set; }

    /// <summary>JSON array of the per-case results once the run has ended.</summary>
    public string? TestResultsJson { get; set; }

    /// <summary>Where the run's result is POSTed once it ends (<c>callbackUrl</c>); null for no callback.</summary>
    public string? CallbackUrl { get; set; }

    /// <summary>
    /// True from the moment a run with a callback ends until the callback is delivered or given up: the
    /// dispatcher's work list, so a restart finds what is left to deliver.
    /// </summary>
    public bool CallbackPending { get; set; }

    /// <summary>Delivery attempts made (claimed) so far.</summary>
    public int CallbackAttempts { get; set; }

    public DateTime? CallbackLastAttemptAtUtc { get; set; }

    /// <summary>When the receiver answered 2xx; never POSTed again after that.</summary>
    public DateTime? CallbackDeliveredAtUtc { get; set; }

    /// <summary>Why the last attempt failed (status code or connection error), capped.</summary>
    public string? CallbackLastError { get; set; }

    /// <summary>
    /// When the retention purge removed the run's files, stdin and output (<c>Iris:Batch:RetentionDays</c>
    /// after it finished); null while they are kept. The row itself stays: status, verdict and usage remain.
    /// </summary>
    public DateTime? ContentExpiredAtUtc { get; set; }
}
