using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// Message type names of the iris-runner WebSocket protocol, exactly as the seed spells them.
/// </summary>
public static class RunnerMessageTypes
{
    // Client → server (the seed's two, plus three controls of ours).
    public const string Code = "code";
    public const string Input = "input";
    public const string Exit = "exit";
    public const string Eof = "eof";
    public const string Signal = "signal";

    // Server → client.
    public const string CompileSuccess = "compile_success";
    public const string CompileError = "compile_error";
    public const string Stdout = "stdout";
    public const string Stderr = "stderr";
    public const string Echo = "echo";
    public const string Error = "error";
}

/// <summary>
/// Any message a client sends. The seed decodes every message into one flat struct, so do we:
/// which fields matter depends on <see cref="Type"/>. Unknown fields are ignored, names match
/// case-insensitively (as Go's encoding/json does for the seed).
/// </summary>
public sealed record RunnerClientMessage
{
    public string? Type { get; init; }

    public string? Language { get; init; }

    public string? Filename { get; init; }

    public string? Source { get; init; }

    /// <summary>Honoured only when <see cref="RunnerProtocolOptions.AllowCustomCommands"/> is on.</summary>
    public string? CompileCmd { get; init; }

    /// <summary>Honoured only when <see cref="RunnerProtocolOptions.AllowCustomCommands"/> is on.</summary>
    public string? Command { get; init; }

    /// <summary>Input text for <c>input</c>; the signal name for <c>signal</c>.</summary>
    public string? Data { get; init; }
}

/// <summary>
/// Any message the server sends. Absent fields are left out, so each type carries exactly the
/// fields the seed sends for it (and a few extra ones seed clients ignore).
/// </summary>
public sealed record RunnerServerMessage
{
    public required string Type { get; init; }

    public string? Data { get; init; }

    /// <summary>Compiler output on <c>compile_success</c> (seed field).</summary>
    public string? Stdout { get; init; }

    /// <summary>Compiler output on <c>compile_error</c> (seed field).</summary>
    public string? Stderr { get; init; }

    /// <summary>On <c>exit</c>: the program's exit code, or 128 + signal when a signal ended it.</summary>
    public int? ReturnCode { get; init; }

    /// <summary>On <c>exit</c>: <c>ok</c>, <c>runtime_error</c>, <c>time_limit</c>, ... (see <see cref="Sandboxing.Verdict"/>).</summary>
    public string? Verdict { get; init; }

    public long? TimeMs { get; init; }

    public long? MemoryBytes { get; init; }

    /// <summary>On <c>exit</c>: why the run ended when that was not the program's own choice.</summary>
    public string? Message { get; init; }

    /// <summary>On <c>error</c>: what was wrong with the client's message.</summary>
    public string? Error { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    PropertyNameCaseInsensitive = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RunnerClientMessage))]
[JsonSerializable(typeof(RunnerServerMessage))]
public sealed partial class RunnerProtocolJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context the protocol uses: like <see cref="JsonSerializerContext"/>'s default, but non-ASCII
    /// text (Korean output, say) is written as UTF-8 rather than \u escapes, as the seed's Go encoder
    /// does. Messages go to WebSocket clients, never into HTML, so relaxed escaping is safe.
    /// </summary>
    public static RunnerProtocolJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
