using IrisIde.Execution.Sandboxing;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Runs;

/// <summary>Limits of one stage (compile, batch run, interactive session). Bound from <c>Iris:Limits:*</c>.</summary>
public sealed class StageLimits
{
    public double WallSeconds { get; set; }
    public double CpuSeconds { get; set; }
    public long MemoryBytes { get; set; }
    public int Processes { get; set; } = 64;
    public long FileSizeBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>Output allowed per stream (per <see cref="OutputWindowSeconds"/> when that is set).</summary>
    public long OutputBytes { get; set; } = 1024 * 1024;

    /// <summary>When set, the output allowance refills every this many seconds (interactive sessions).</summary>
    public double? OutputWindowSeconds { get; set; }

    public double CpuCores { get; set; } = 1.0;

    public SandboxLimits ToSandboxLimits(TimeSpan? idleTimeout = null) => new()
    {
        WallTime = TimeSpan.FromSeconds(WallSeconds),
        CpuTime = TimeSpan.FromSeconds(CpuSeconds),
        MemoryBytes = MemoryBytes,
        MaxProcesses = Processes,
        MaxFileSizeBytes = FileSizeBytes,
        CpuCores = CpuCores,
        IdleTimeout = idleTimeout,
    };

    public StageLimits Clone() => (StageLimits)MemberwiseClone();

    internal IEnumerable<string> Problems(string name)
    {
        if (WallSeconds <= 0) yield return $"{name}:WallSeconds must be positive";
        if (CpuSeconds <= 0) yield return $"{name}:CpuSeconds must be positive";
        if (MemoryBytes < 16 * 1024 * 1024) yield return $"{name}:MemoryBytes must be at least 16 MiB";
        if (Processes <= 0) yield return $"{name}:Processes must be positive";
        if (FileSizeBytes <= 0) yield return $"{name}:FileSizeBytes must be positive";
        if (OutputBytes <= 0) yield return $"{name}:OutputBytes must be positive";
        if (OutputWindowSeconds is <= 0) yield return $"{name}:OutputWindowSeconds must be positive when set";
        if (CpuCores <= 0) yield return $"{name}:CpuCores must be positive";
    }
}

/// <summary>Run limits and workspace placement. Section <c>Iris:Limits</c> (see DESIGN.md's limits table).</summary>
public sealed class ExecutionOptions
{
    public const string SectionName = "Iris:Limits";

    private const long MiB = 1024 * 1024;

    public StageLimits Compile { get; set; } = new() { WallSeconds = 15, CpuSeconds = 10, MemoryBytes = 512 * MiB };

    public StageLimits Batch { get; set; } = new() { WallSeconds = 10, CpuSeconds = 5, MemoryBytes = 256 * MiB };

    public StageLimits Interactive { get; set; } = new() { WallSeconds = 30 * 60, CpuSeconds = 60, MemoryBytes = 512 * MiB, OutputWindowSeconds = 60 };

    /// <summary>The most a request may ask for; requests above are clamped down to these.</summary>
    public StageLimits Maximum { get; set; } = new() { WallSeconds = 60, CpuSeconds = 30, MemoryBytes = 1024 * MiB, OutputBytes = 16 * MiB };

    /// <summary>An interactive session with no input and no output for this long ends with verdict <c>killed</c>.</summary>
    public double IdleTimeoutSeconds { get; set; } = 600;

    public int MaxSourceBytesPerFile { get; set; } = 256 * 1024;

    public int MaxFiles { get; set; } = 16;

    /// <summary>Batch stdin cap.</summary>
    public int MaxStdinBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Where run workspaces are created. Default: <c>/dev/shm/iris-runs</c> when /dev/shm exists, so what a
    /// program writes is RAM charged to its own memory cgroup and a disk-fill attack hits the memory limit.
    /// </summary>
    public string? WorkspaceRoot { get; set; }

    public string ResolveWorkspaceRoot() =>
        WorkspaceRoot is { Length: > 0 } root ? root
        : Directory.Exists("/dev/shm") ? "/dev/shm/iris-runs"
        : Path.Combine(Path.GetTempPath(), "iris-runs");

    /// <summary>
    /// The byte cap of each run's workspace (its own tmpfs mount, <c>size=</c>). Pages written also count
    /// against the run's memory limit; this caps what one run can keep in host RAM whatever its limits.
    /// </summary>
    public long WorkspaceSizeBytes { get; set; } = 64 * MiB;

    /// <summary>
    /// The inode cap of each run's workspace (<c>nr_inodes=</c>): files, folders and links together, the
    /// workspace's root included. A program past it gets ENOSPC inside its own workspace, not the host.
    /// </summary>
    public long WorkspaceInodes { get; set; } = 8192;

    /// <summary>How often workspaces left by crashed servers (and failed removals) are swept; also at start-up.</summary>
    public double WorkspaceSweepSeconds { get; set; } = 300;
}

internal sealed class ExecutionOptionsValidator : IValidateOptions<ExecutionOptions>
{
    public ValidateOptionsResult Validate(string? name, ExecutionOptions options)
    {
        var problems = options.Compile.Problems("Compile")
            .Concat(options.Batch.Problems("Batch"))
            .Concat(options.Interactive.Problems("Interactive"))
            .Concat(options.Maximum.Problems("Maximum"))
            .ToList();
        if (options.IdleTimeoutSeconds <= 0) problems.Add("IdleTimeoutSeconds must be positive");
        if (options.MaxSourceBytesPerFile <= 0) problems.Add("MaxSourceBytesPerFile must be positive");
        if (options.MaxFiles <= 0) problems.Add("MaxFiles must be positive");
        if (options.MaxStdinBytes < 0) problems.Add("MaxStdinBytes must not be negative");
        if (options.WorkspaceSizeBytes < 1024 * 1024) problems.Add("WorkspaceSizeBytes must be at least 1 MiB");
        if (options.WorkspaceInodes < 64) problems.Add("WorkspaceInodes must be at least 64");
        if (!(options.WorkspaceSweepSeconds is > 0 and <= 86400)) problems.Add("WorkspaceSweepSeconds must be positive and at most a day");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{ExecutionOptions.SectionName}:{p}"));
    }
}
