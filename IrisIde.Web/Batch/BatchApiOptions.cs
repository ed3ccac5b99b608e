using Microsoft.Extensions.Options;

namespace IrisIde.Web.Batch;

/// <summary>
/// Settings of the batch HTTP surface (section <c>Iris:Batch</c>, beside the job settings in
/// <see cref="IrisIde.Execution.Batch.BatchJobOptions"/>): request body size, result callbacks and retention.
/// </summary>
public sealed class BatchApiOptions
{
    public const string SectionName = "Iris:Batch";

    /// <summary>
    /// Largest request body of <c>POST /run-code</c> and <c>POST /api/v1/runs</c>; a larger one gets 413
    /// before it is read. 24 MiB holds the largest source set (16 files × 256 KiB = 4 MiB) and the largest
    /// stdin (<c>Iris:Limits:MaxStdinBytes</c>, 16 MiB) with room for JSON escaping and test cases, and stays
    /// under Kestrel's own default cap (about 28.6 MiB).
    /// </summary>
    public long MaxRequestBodyBytes { get; set; } = 24 * 1024 * 1024;

    /// <summary>Hosts a <c>callbackUrl</c> may point at (exact host names or addresses); empty refuses every callback.</summary>
    public List<string> CallbackHosts { get; set; } = [];

    /// <summary>Delivery attempts of one callback, the first included, before it is given up.</summary>
    public int CallbackMaxAttempts { get; set; } = 8;

    /// <summary>Wait before the first retry; each further retry waits twice as long, up to <see cref="CallbackMaxRetryDelaySeconds"/>.</summary>
    public double CallbackRetryDelaySeconds { get; set; } = 2;

    public double CallbackMaxRetryDelaySeconds { get; set; } = 300;

    /// <summary>How long one delivery attempt may take, connecting included.</summary>
    public double CallbackTimeoutSeconds { get; set; } = 10;

    /// <summary>
    /// Days a finished batch run keeps its files, stdin and output; then the retention purge removes them
    /// (the run's status, verdict and usage stay). A job with 16 MiB of stdin costs tens of MB until then.
    /// </summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>How often the retention purge looks for expired runs.</summary>
    public double RetentionPurgeIntervalMinutes { get; set; } = 60;

    /// <summary>Wait before retry number <paramref name="attemptsMade"/> (1 after the first failure).</summary>
    public TimeSpan RetryDelay(int attemptsMade) =>
        TimeSpan.FromSeconds(Math.Min(CallbackRetryDelaySeconds * Math.Pow(2, Math.Max(0, attemptsMade - 1)), CallbackMaxRetryDelaySeconds));
}

internal sealed class BatchApiOptionsValidator : IValidateOptions<BatchApiOptions>
{
    public ValidateOptionsResult Validate(string? name, BatchApiOptions options)
    {
        var problems = new List<string>();
        if (options.MaxRequestBodyBytes <= 0) problems.Add("MaxRequestBodyBytes must be positive");
        if (options.CallbackHosts.Any(h => string.IsNullOrWhiteSpace(h))) problems.Add("CallbackHosts must not hold empty names");
        if (options.CallbackMaxAttempts <= 0) problems.Add("CallbackMaxAttempts must be positive");
        if (options.CallbackRetryDelaySeconds < 0) problems.Add("CallbackRetryDelaySeconds must not be negative");
        if (options.CallbackMaxRetryDelaySeconds < options.CallbackRetryDelaySeconds) problems.Add("CallbackMaxRetryDelaySeconds must not be less than CallbackRetryDelaySeconds");
        if (options.CallbackTimeoutSeconds <= 0) problems.Add("CallbackTimeoutSeconds must be positive");
        if (options.RetentionDays < 1) problems.Add("RetentionDays must be at least 1");
        if (options.RetentionPurgeIntervalMinutes is not (> 0 and <= 24 * 60)) problems.Add("RetentionPurgeIntervalMinutes must be more than 0 and at most 1440");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{BatchApiOptions.SectionName}:{p}"));
    }
}
