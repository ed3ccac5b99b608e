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

    // Server → client, sent only to a client that asked for extensions (see RunnerProtocolExtensions).
    public const string Accepted = "accepted";
    public const string CompileStarted = "compile_started";
    public const string Started = "started";
    public const string Notice = "notice";
}

/// <summary>
/// Optional additions to the seed protocol for clients that need a lossless event stream (the IDE's own
/// <see cref="RunnerProtocolClient"/>). A client opts in with <c>"extensions": 1</c> on its <c>code</c>
/// message, a field seed clients never send, so they keep receiving exactly the seed's messages.
/// </summary>
/// <remarks>
/// With extensions on, the server also sends <c>accepted</c> (the run was validated and started),
/// <c>compile_started</c>, <c>started</c> (the program started), <c>notice</c> (instead of stderr text
/// framed <c>\r\n[...]\r\n</c>), every echo (a bare line ending too), <c>compile_error</c> as soon as
/// compilation fails followed by an <c>exit</c> like any other run, and the full outcome on <c>exit</c>
/// (<c>exit_code</c>, <c>signal</c>, <c>cpu_ms</c>, <c>stage</c>, <c>message</c>). Its <c>error</c> on a refused
/// <c>code</c> message names the <c>reason</c>. The client may send <c>files</c> (several source files)
/// and give <c>exit</c> a <c>verdict</c> and a <c>data</c> message.
/// </remarks>
public static class RunnerProtocolExtensions
{
    /// <summary>The extension level this build speaks; a client sends it in <c>code.extensions</c>.</summary>
    public const int Level = 1;

    /// <summary>An enum value as an <c>error.reason</c>: <c>RunRequestError.UnknownLanguage</c> → <c>unknown_language</c>.</summary>
    public static string ReasonName<T>(T value)
        where T : struct, Enum =>
        JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    /// <summary>The enum value an <c>error.reason</c> names; false when it names none of <typeparamref name="T"/>.</summary>
    public static bool TryParseReason<T>(string? reason, out T value)
        where T : struct, Enum
    {
        foreach (var candidate in Enum.GetValues<T>())
        {
            if (string.Equals(ReasonName(candidate), reason, StringComparison.Ordinal))
            {
                value = candidate;
                return true;
            }
        }

        value = default;
        return false;
    }
}

/// <summary>A source file in a <c>code</c> message's <c>files</c> extension.</summary>
public sealed record RunnerSourceFile(string? Name, string? Content);

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

    /// <summary>Input text for <c>input</c>; the signal name for <c>signal</c>; with extensions, why on <c>exit</c>.</summary>
    public string? Data { get; init; }

    /// <summary>
    /// Extension opt-in on <c>code</c> (<see cref="RunnerProtocolExtensions.Level"/>); absent from seed clients,
    /// which therefore get the seed's messages only.
    /// </summary>
    public int? Extensions { get; init; }

    /// <summary>Extension on <c>code</c>: every source file, the first the main one; replaces <c>filename</c>/<c>source</c>.</summary>
    public IReadOnlyList<RunnerSourceFile>? Files { get; init; }

    /// <summary>Extension on <c>exit</c> (honoured with extensions on): the verdict the run should end with.</summary>
    public string? Verdict { get; init; }
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

    /// <summary>
    /// Extension, on <c>exit</c> and on <c>compile_success</c>/<c>compile_error</c>: the exit code itself,
    /// absent when there is none (a signal, an internal error), unlike <c>return_code</c>.
    /// </summary>
    public int? ExitCode { get; init; }

    /// <summary>Extension, on <c>exit</c> and compile results: the signal number that ended the process.</summary>
    public int? Signal { get; init; }

    /// <summary>Extension, on <c>exit</c> and compile results: CPU time of the process tree.</summary>
    public long? CpuMs { get; init; }

    /// <summary>Extension, on <c>exit</c>: <c>compile</c> or <c>run</c>, the stage that decided the outcome.</summary>
    public string? Stage { get; init; }

    /// <summary>Extension, on <c>error</c> when a <c>code</c> message is refused: why, in snake_case (<c>unknown_language</c>, ...).</summary>
    public string? Reason { get; init; }

    /// <summary>Extension, on <c>accepted</c>: the run's id on the runner.</summary>
    public string? Id { get; init; }

    /// <summary>Extension, on <c>accepted</c>: the resolved language id (an alias such as <c>py</c> becomes <c>python</c>).</summary>
    public string? Language { get; init; }

    /// <summary>Extension, on <c>accepted</c>: the file names the run uses, in request order (empty names filled in).</summary>
    public IReadOnlyList<string>? Files { get; init; }
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
