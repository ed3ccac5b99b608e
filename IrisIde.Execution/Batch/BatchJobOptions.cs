using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

/// <summary>Batch job settings. Section <c>Iris:Batch</c>.</summary>
public sealed class BatchJobOptions
{
    public const string SectionName = "Iris:Batch";

    /// <summary>
    /// Jobs one consumer runs at the same time at most (the seed's worker ran 50); fewer run when their
    /// memory grants do not fit <see cref="MemoryBudgetBytes"/> together. Size it to the cores.
    /// </summary>
    public int ConcurrentJobs { get; set; } = 50;

    /// <summary>
    /// Memory the jobs running at once in this process may be granted in all (see <see cref="BatchMemoryBudget"/>).
    /// Unset: the memory all runs of this host may share (<see cref="RunCapacity"/>, the host less the server's reserve).
    /// </summary>
    public long? MemoryBudgetBytes { get; set; }

    public long ResolveMemoryBudgetBytes(RunCapacity capacity)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        return MemoryBudgetBytes ?? capacity.MemoryBytes;
    }

    /// <summary>Retries, with growing pauses, of a job that failed inside the server (never for poison jobs).</summary>
    public int Retries { get; set; } = 3;

    /// <summary>
    /// On shutdown, how long a worker waits for its running jobs to finish before it cancels them (they are
    /// then redelivered to another worker). Longer than the longest batch run, compile included.
    /// </summary>
    public double DrainSeconds { get; set; } = 90;

    /// <summary>
    /// How long a job runs before its worker says it started (<see cref="Contracts.RunStarted"/>, which
    /// shows it as <c>running</c>); a job over sooner only sends its result, which carries its start time
    /// too. Most jobs take less: one message and one database write fewer each. 0 says it at once.
    /// </summary>
    public int StartedNoticeDelayMilliseconds { get; set; } = 500;

    /// <summary>Characters of each stored output (compile output, stdout, stderr); the rest is cut.</summary>
    public int MaxStoredOutputChars { get; set; } = 1024 * 1024;

    /// <summary>The longest <c>GET /api/v1/runs/{id}?wait=true</c> waits for the run to end.</summary>
    public double MaxWaitSeconds { get; set; } = 30;

    /// <summary>Test cases one run may have (each one is a run of the program).</summary>
    public int MaxTestCases { get; set; } = 32;

    /// <summary>
    /// How long a receive endpoint may stay faulted or not ready before the health check reports the process
    /// Unhealthy (so an orchestrator restarts it). Longer than a broker restart takes, so a routine restart
    /// only shows as Degraded while the bus reconnects by itself.
    /// </summary>
    public double EndpointGraceSeconds { get; set; } = 120;

    /// <summary>Names this process in results; default host name and process id.</summary>
    public string? WorkerId { get; set; }

    public string ResolveWorkerId() => WorkerId is { Length: > 0 } id ? id : $"{Environment.MachineName}:{Environment.ProcessId}";
}

internal sealed class BatchOptionsValidator : IValidateOptions<BatchJobOptions>
{
    public ValidateOptionsResult Validate(string? name, BatchJobOptions options)
    {
        var problems = new List<string>();
        if (options.ConcurrentJobs <= 0) problems.Add("ConcurrentJobs must be positive");
        if (options.Retries < 0) problems.Add("Retries must not be negative");
        if (options.DrainSeconds <= 0) problems.Add("DrainSeconds must be positive");
        if (options.MaxStoredOutputChars <= 0) problems.Add("MaxStoredOutputChars must be positive");
        if (options.MaxTestCases <= 0) problems.Add("MaxTestCases must be positive");
        if (options.MaxWaitSeconds <= 0) problems.Add("MaxWaitSeconds must be positive");
        if (options.MemoryBudgetBytes is <= 0) problems.Add("MemoryBudgetBytes must be positive when set");
        if (options.EndpointGraceSeconds <= 0) problems.Add("EndpointGraceSeconds must be positive");
        if (options.StartedNoticeDelayMilliseconds is < 0 or > 60_000) problems.Add("StartedNoticeDelayMilliseconds must be between 0 and 60000");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{BatchJobOptions.SectionName}:{p}"));
    }
}

/// <summary>
/// Checks the batch settings against the memory this worker really has, at start-up, so a
/// misconfiguration fails with the numbers and what to change instead of letting the kernel decide later.
/// </summary>
internal sealed class BatchCapacityValidator(RunCapacity capacity, IOptions<ExecutionOptions> limits) : IValidateOptions<BatchJobOptions>
{
    private const long MiB = 1024 * 1024;

    public ValidateOptionsResult Validate(string? name, BatchJobOptions options)
    {
        var problems = new List<string>();
        var forRuns = capacity.MemoryBytes;
        var budget = options.ResolveMemoryBudgetBytes(capacity);
        var execution = limits.Value;
        var largestJob = Math.Max(execution.Compile.MemoryBytes, Math.Max(execution.Batch.MemoryBytes, execution.Maximum.MemoryBytes));
        if (budget > forRuns)
        {
            problems.Add($"MemoryBudgetBytes is {budget / MiB} MiB but all runs of this worker may hold {forRuns / MiB} MiB (Iris:Sandbox:Capacity, the host less the server's reserve): lower Iris:Batch:MemoryBudgetBytes or give the worker more memory");
        }

        if (budget < largestJob)
        {
            problems.Add($"MemoryBudgetBytes is {budget / MiB} MiB, less than one job may be granted ({largestJob / MiB} MiB, the largest of Iris:Limits:Compile, Batch and Maximum MemoryBytes), so such a job could never start: raise the budget or lower those limits");
        }

        if ((long)options.ConcurrentJobs * RunPipeline.MinimumMemoryBytes > forRuns)
        {
            problems.Add($"ConcurrentJobs is {options.ConcurrentJobs}, but even at the smallest grant ({RunPipeline.MinimumMemoryBytes / MiB} MiB) this worker's {forRuns / MiB} MiB for runs holds {forRuns / RunPipeline.MinimumMemoryBytes}: lower Iris:Batch:ConcurrentJobs");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{BatchJobOptions.SectionName}:{p}"));
    }
}
