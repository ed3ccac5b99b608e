using IrisIde.Execution.Batch.Contracts;

namespace IrisIde.Execution.Runs;

/// <summary>
/// The one way a surface turns what its client sent into a <see cref="RunRequest"/>: missing names and
/// contents become empty (the pipeline then names the first file and refuses what is wrong), and
/// limits map field for field. <c>/ws</c>, the hub, both batch APIs and the batch consumer use it.
/// </summary>
public static class RunRequestFactory
{
    /// <summary>An interactive session: stdin comes later, from the person at the terminal.</summary>
    public static RunRequest Interactive(string? language, IEnumerable<SourceFile?>? files, string? customCompileCommand = null, string? customRunCommand = null) => new()
    {
        Language = language ?? string.Empty,
        Files = Normalize(files),
        Mode = RunMode.Interactive,
        CustomCompileCommand = string.IsNullOrWhiteSpace(customCompileCommand) ? null : customCompileCommand,
        CustomRunCommand = string.IsNullOrWhiteSpace(customRunCommand) ? null : customRunCommand,
    };

    /// <summary>A batch run: stdin up front, limits as asked (the pipeline clamps and checks them).</summary>
    public static RunRequest Batch(string? language, IEnumerable<SourceFile?>? files, string? stdin, RunLimitOverrides? limits, string? owner = null) => new()
    {
        Language = language ?? string.Empty,
        Files = Normalize(files),
        Mode = RunMode.Batch,
        Stdin = stdin,
        Limits = limits,
        Owner = owner,
    };

    /// <summary>A queued job as the worker runs it.</summary>
    public static RunRequest Batch(RunRequested job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Batch(job.Language, job.Files?.Select(f => f is null ? null : new SourceFile(f.Name, f.Content)), job.Stdin, ToOverrides(job.Limits));
    }

    /// <summary>The limits a job was granted when it was queued, as a request asks for them.</summary>
    public static RunLimitOverrides? ToOverrides(BatchLimits? limits) => limits is null ? null : new RunLimitOverrides
    {
        WallSeconds = limits.WallSeconds,
        CpuSeconds = limits.CpuSeconds,
        MemoryBytes = limits.MemoryBytes,
        OutputBytes = limits.OutputBytes,
    };

    /// <summary>The limits a validated run got, as they travel with its job.</summary>
    public static BatchLimits ToBatchLimits(StageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        return new BatchLimits(limits.WallSeconds, limits.CpuSeconds, limits.MemoryBytes, limits.OutputBytes);
    }

    private static SourceFile[] Normalize(IEnumerable<SourceFile?>? files) =>
        [.. (files ?? []).Select(f => new SourceFile(f?.Name ?? string.Empty, f?.Content ?? string.Empty))];
}
