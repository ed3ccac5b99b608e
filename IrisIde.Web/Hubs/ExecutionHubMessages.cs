using System.Text.Json.Serialization;

namespace IrisIde.Web.Hubs;

/// <summary>The argument of <c>StartRun</c>: <c>{ language, files: [{ name, content }], course? }</c>. The first file is the one run (see <see cref="IrisIde.Execution.Runs.SourceFile"/>).</summary>
public sealed record StartRunRequest
{
    [JsonPropertyName("language")]
    public string? Language { get; init; }

    [JsonPropertyName("files")]
    public IReadOnlyList<StartRunFile>? Files { get; init; }

    /// <summary>The id of the course the run belongs to; null or absent for none (a course token implies its own).</summary>
    [JsonPropertyName("course")]
    public string? Course { get; init; }
}

/// <summary>A source file of <see cref="StartRunRequest"/>; an empty name takes the language's default file name.</summary>
public sealed record StartRunFile
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("content")]
    public string? Content { get; init; }
}

/// <summary>
/// One item of the <c>StartRun</c> stream. Flat on purpose: every event is one JSON object with a
/// <c>type</c> and only the fields of that type — properties that are null are left out of the JSON
/// (never sent as <c>null</c>), so <c>exit</c> has <c>exitCode</c> only when the program exited on its own
/// and <c>signal</c> only when a signal ended it.
/// </summary>
public sealed record RunEventMessage
{
    [JsonPropertyName("type")]
    public required string Type { get; init; }

    [JsonPropertyName("runId")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RunId { get; init; }

    [JsonPropertyName("success")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Success { get; init; }

    [JsonPropertyName("output")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Output { get; init; }

    [JsonPropertyName("diagnostics")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<DiagnosticMessage>? Diagnostics { get; init; }

    [JsonPropertyName("data")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Data { get; init; }

    [JsonPropertyName("verdict")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Verdict { get; init; }

    [JsonPropertyName("stage")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Stage { get; init; }

    [JsonPropertyName("exitCode")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ExitCode { get; init; }

    [JsonPropertyName("signal")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Signal { get; init; }

    [JsonPropertyName("timeMs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? TimeMs { get; init; }

    [JsonPropertyName("cpuMs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? CpuMs { get; init; }

    [JsonPropertyName("memoryBytes")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? MemoryBytes { get; init; }

    [JsonPropertyName("message")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Message { get; init; }
}

/// <summary>A compiler diagnostic for an editor marker: <c>{ file, line, column, severity, message }</c>, 1-based.</summary>
public sealed record DiagnosticMessage(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("line")] int Line,
    [property: JsonPropertyName("column")] int Column,
    [property: JsonPropertyName("severity")] string Severity,
    [property: JsonPropertyName("message")] string Message);

/// <summary>The event <c>type</c> values.</summary>
public static class RunEventTypes
{
    public const string Started = "started";
    public const string Compiling = "compiling";
    public const string Compiled = "compiled";
    public const string Running = "running";
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string Echo = "echo";
    public const string Notice = "notice";
    public const string Exit = "exit";
    public const string Error = "error";
}

/// <summary>Source-generated metadata for the hub's payloads, ahead of SignalR's reflection resolver.</summary>
[JsonSerializable(typeof(StartRunRequest))]
[JsonSerializable(typeof(RunEventMessage))]
[JsonSerializable(typeof(IrisIde.Web.History.LiveWatchMessage))]
internal sealed partial class ExecutionHubJsonContext : JsonSerializerContext;
