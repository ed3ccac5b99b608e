using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Admission;

/// <summary>
/// Who may start how much, in one place for every surface. Section <c>Iris:Admission</c>. Capacity
/// defaults come from the memory all runs may share (<see cref="RunCapacity"/>) and the cores; per-client caps are sized for a class on
/// one server (see README, "Capacity and rate limits").
/// </summary>
public sealed class AdmissionOptions
{
    public const string SectionName = "Iris:Admission";

    private const long MiB = 1024 * 1024;

    /// <summary>
    /// Memory an interactive session is expected to hold on average (not its limit: most student programs
    /// are small and wait for input). Capacity is the memory for runs divided by this.
    /// </summary>
    public long SessionFootprintBytes { get; set; } = 128 * MiB;

    /// <summary>Share of a core an interactive session is expected to use on average; capacity is the cores divided by this.</summary>
    public double SessionCpuShare { get; set; } = 0.05;

    /// <summary>Interactive sessions this server holds at once; unset derives it from the host and the two footprints above.</summary>
    public int? MaxSessions { get; set; }

    /// <summary>Interactive sessions one client (a signed-in user, else an address) may have open at once, over <c>/ws</c>, <c>/run</c> and the hub together.</summary>
    public int MaxSessionsPerClient { get; set; } = 8;

    /// <summary>Runs one client may start per minute, interactive and batch together.</summary>
    public int RunsPerMinutePerClient { get; set; } = 60;

    /// <summary>Batch jobs one client may have waiting or running.</summary>
    public int MaxQueuedJobsPerClient { get; set; } = 200;

    /// <summary>Batch jobs waiting or running in all; past it the API answers 503 with Retry-After.</summary>
    public int MaxQueuedJobs { get; set; } = 10_000;

    /// <summary>What a refused client is told to wait before trying again.</summary>
    public double RetryAfterSeconds { get; set; } = 60;

    /// <summary>The interactive capacity this server works with.</summary>
    public int ResolveMaxSessions(RunCapacity capacity, int cores)
    {
        ArgumentNullException.ThrowIfNull(capacity);
        if (MaxSessions is { } configured)
        {
            return configured;
        }

        var byMemory = capacity.MemoryBytes / SessionFootprintBytes;
        var byCpu = cores / SessionCpuShare;
        return (int)Math.Max(1, Math.Min(byMemory, Math.Floor(byCpu)));
    }
}

internal sealed class AdmissionOptionsValidator : IValidateOptions<AdmissionOptions>
{
    public ValidateOptionsResult Validate(string? name, AdmissionOptions options)
    {
        var problems = new List<string>();
        if (options.SessionFootprintBytes < Runs.RunPipeline.MinimumMemoryBytes) problems.Add("SessionFootprintBytes must be at least 16 MiB");
        if (options.SessionCpuShare is <= 0 or > 64) problems.Add("SessionCpuShare must be above 0 (a share of one core, e.g. 0.05)");
        if (options.MaxSessions is <= 0) problems.Add("MaxSessions must be positive when set");
        if (options.MaxSessionsPerClient <= 0) problems.Add("MaxSessionsPerClient must be positive");
        if (options.RunsPerMinutePerClient <= 0) problems.Add("RunsPerMinutePerClient must be positive");
        if (options.MaxQueuedJobsPerClient <= 0) problems.Add("MaxQueuedJobsPerClient must be positive");
        if (options.MaxQueuedJobs < options.MaxQueuedJobsPerClient) problems.Add("MaxQueuedJobs must be at least MaxQueuedJobsPerClient");
        if (options.RetryAfterSeconds <= 0) problems.Add("RetryAfterSeconds must be positive");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{AdmissionOptions.SectionName}:{p}"));
    }
}
