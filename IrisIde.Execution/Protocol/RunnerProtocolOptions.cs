using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Protocol;

/// <summary>The iris-runner WebSocket protocol. Section <c>Iris:Runner</c>.</summary>
public sealed class RunnerProtocolOptions
{
    public const string SectionName = "Iris:Runner";

    /// <summary>
    /// When true, a <c>code</c> message's <c>compile_cmd</c> and <c>command</c> replace the catalogue's
    /// commands (still run inside the sandbox). Off by default: the seed front-end always sends them,
    /// and they are then ignored without a word.
    /// </summary>
    public bool AllowCustomCommands { get; set; }

    /// <summary>The largest WebSocket message buffered; a bigger one closes the connection with MessageTooBig.</summary>
    public int MaxMessageBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long one connection may last from its <c>code</c> message; then the program is stopped with
    /// verdict <c>killed</c>. Idle time is <c>Iris:Limits:IdleTimeoutSeconds</c>.
    /// </summary>
    public double MaxSessionSeconds { get; set; } = 30 * 60;

    /// <summary>How long to wait for the client's close frame after ours before dropping the connection.</summary>
    public double CloseGraceSeconds { get; set; } = 5;
}

internal sealed class RunnerProtocolOptionsValidator : IValidateOptions<RunnerProtocolOptions>
{
    public ValidateOptionsResult Validate(string? name, RunnerProtocolOptions options)
    {
        var problems = new List<string>();
        if (options.MaxMessageBytes < 1024)
        {
            problems.Add("MaxMessageBytes must be at least 1024");
        }

        if (options.MaxSessionSeconds <= 0)
        {
            problems.Add("MaxSessionSeconds must be positive");
        }

        if (options.CloseGraceSeconds <= 0)
        {
            problems.Add("CloseGraceSeconds must be positive");
        }

        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{RunnerProtocolOptions.SectionName}:{p}"));
    }
}
