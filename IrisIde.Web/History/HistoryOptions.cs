using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

/// <summary>The run history: recording interactive runs and their transcripts, and keeping them. Section <c>Iris:History</c>.</summary>
public sealed class HistoryOptions
{
    public const string SectionName = "Iris:History";

    public const int MinTranscriptBytes = 64;

    public const int MaxTranscriptBytesLimit = 64 * 1024 * 1024;

    /// <summary>False records nothing: the surfaces get their sessions unwrapped (for measuring the cost of recording).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// UTF-8 bytes of output, input and events kept per run; the rest is cut, with a marker event where it was cut
    /// and the run marked truncated. The run itself goes on.
    /// </summary>
    public int MaxTranscriptBytes { get; set; } = 1024 * 1024;

    /// <summary>Transcripts and files of interactive runs are deleted this long after the run ended (a course may set its own).</summary>
    public int RetentionDays { get; set; } = 180;

    public int PurgeIntervalMinutes { get; set; } = 60;

    /// <summary>
    /// Transcript chunks waiting for the database across all runs. When it is full a chunk is dropped and its
    /// run's transcript marked incomplete: recording never makes a run wait.
    /// </summary>
    public int QueueCapacity { get; set; } = 20_000;

    /// <summary>
    /// Attempts at storing one batch of chunks before they are given up (their runs marked incomplete). Run rows
    /// and their results are retried until the database takes them.
    /// </summary>
    public int MaxWriteAttempts { get; set; } = 5;
}

internal sealed class HistoryOptionsValidator : IValidateOptions<HistoryOptions>
{
    public ValidateOptionsResult Validate(string? name, HistoryOptions options)
    {
        var problems = new List<string>();
        if (options.MaxTranscriptBytes is < HistoryOptions.MinTranscriptBytes or > HistoryOptions.MaxTranscriptBytesLimit)
        {
            problems.Add($"MaxTranscriptBytes must be between {HistoryOptions.MinTranscriptBytes} and {HistoryOptions.MaxTranscriptBytesLimit} (is {options.MaxTranscriptBytes})");
        }

        if (options.RetentionDays < 1)
        {
            problems.Add($"RetentionDays must be at least 1 (is {options.RetentionDays})");
        }

        if (options.PurgeIntervalMinutes < 1)
        {
            problems.Add($"PurgeIntervalMinutes must be at least 1 (is {options.PurgeIntervalMinutes})");
        }

        if (options.QueueCapacity is < 1 or > 1_000_000)
        {
            problems.Add($"QueueCapacity must be between 1 and 1000000 (is {options.QueueCapacity})");
        }

        if (options.MaxWriteAttempts is < 1 or > 100)
        {
            problems.Add($"MaxWriteAttempts must be between 1 and 100 (is {options.MaxWriteAttempts})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{HistoryOptions.SectionName}:{p}"));
    }
}
