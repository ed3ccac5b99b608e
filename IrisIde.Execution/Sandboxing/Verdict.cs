using System.Text.Json.Serialization;

namespace IrisIde.Execution.Sandboxing;

/// <summary>How a run (or one of its stages) ended. Serialised in snake_case: <c>time_limit</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    [JsonStringEnumMemberName("ok")] Ok,
    [JsonStringEnumMemberName("runtime_error")] RuntimeError,
    [JsonStringEnumMemberName("compile_error")] CompileError,
    [JsonStringEnumMemberName("time_limit")] TimeLimit,
    [JsonStringEnumMemberName("memory_limit")] MemoryLimit,
    [JsonStringEnumMemberName("output_limit")] OutputLimit,
    [JsonStringEnumMemberName("killed")] Killed,
    [JsonStringEnumMemberName("internal_error")] InternalError,
}

public static class VerdictExtensions
{
    /// <summary>The wire name: <c>ok</c>, <c>time_limit</c>, ...</summary>
    public static string ToWireName(this Verdict verdict) => verdict switch
    {
        Verdict.Ok => "ok",
        Verdict.RuntimeError => "runtime_error",
        Verdict.CompileError => "compile_error",
        Verdict.TimeLimit => "time_limit",
        Verdict.MemoryLimit => "memory_limit",
        Verdict.OutputLimit => "output_limit",
        Verdict.Killed => "killed",
        _ => "internal_error",
    };

    /// <summary>The verdict a wire name stands for; false for anything else.</summary>
    public static bool TryParseWireName(string? name, out Verdict verdict)
    {
        foreach (var candidate in Enum.GetValues<Verdict>())
        {
            if (string.Equals(candidate.ToWireName(), name, StringComparison.Ordinal))
            {
                verdict = candidate;
                return true;
            }
        }

        verdict = Verdict.InternalError;
        return false;
    }
}
