namespace IrisIde.Execution.Runs;

/// <summary>
/// A source file of a run. The first file of a request is the main one (the one run); compiled
/// languages with source extensions in the catalogue compile the others with those extensions too.
/// </summary>
public sealed record SourceFile(string Name, string Content);

/// <summary>Interactive runs stream stdin from a person; batch runs get their stdin up front.</summary>
public enum RunMode
{
    Batch,
    Interactive,
}

/// <summary>Per-run limit requests. Each is clamped to the configured maximum; null takes the default.</summary>
public sealed record RunLimitOverrides
{
    public double? WallSeconds { get; init; }
    public double? CpuSeconds { get; init; }
    public long? MemoryBytes { get; init; }
    public long? OutputBytes { get; init; }
}

/// <summary>Everything needed to start a run, whatever the wire format it came from.</summary>
public sealed record RunRequest
{
    /// <summary>Language id or alias as the client sent it.</summary>
    public required string Language { get; init; }

    /// <summary>Source files; empty names take the language's default file name.</summary>
    public required IReadOnlyList<SourceFile> Files { get; init; }

    public RunMode Mode { get; init; } = RunMode.Batch;

    /// <summary>Batch input, written then closed. Interactive runs use <see cref="RunSession.WriteInputAsync"/>.</summary>
    public string? Stdin { get; init; }

    public RunLimitOverrides? Limits { get; init; }

    /// <summary>A shell command line that replaces the catalogue's compile step (only where the host allows it).</summary>
    public string? CustomCompileCommand { get; init; }

    /// <summary>A shell command line that replaces the catalogue's run step (only where the host allows it).</summary>
    public string? CustomRunCommand { get; init; }

    /// <summary>Who asked (user id), for the history and per-user limits; null when anonymous.</summary>
    public string? Owner { get; init; }
}
