using Microsoft.Extensions.Options;

namespace IrisIde.Web.Hubs;

/// <summary>The IDE's execution hub. Section <c>Iris:Ide</c>.</summary>
public sealed class ExecutionHubOptions
{
    public const string SectionName = "Iris:Ide";

    /// <summary>
    /// The largest hub message accepted (SignalR's default is 32 KiB). Sized for the largest valid
    /// request — 16 files of 256 KiB plus JSON escaping — so an over-size source reaches the pipeline and
    /// is refused with a clear error event instead of the connection being dropped.
    /// </summary>
    public long MaxMessageBytes { get; set; } = 5L * 1024 * 1024;

    /// <summary>How often the server pings an idle connection, so the browser notices a dead server.</summary>
    public double KeepAliveSeconds { get; set; } = 4;

    /// <summary>
    /// A connection silent this long is closed and its runs stopped. 8 s, so that with SignalR's ~1 s
    /// timeout check and the kill a silently dropped tab's program is gone within 10 s. Clients must ping
    /// well within it: the browser's <c>withKeepAliveInterval(3000)</c> (SignalR's default of 15 s would be
    /// cut off whenever the user is idle).
    /// </summary>
    public double ClientTimeoutSeconds { get; set; } = 8;
}

internal sealed class ExecutionHubOptionsValidator : IValidateOptions<ExecutionHubOptions>
{
    public ValidateOptionsResult Validate(string? name, ExecutionHubOptions options)
    {
        var problems = new List<string>();
        if (options.MaxMessageBytes < 32 * 1024)
        {
            problems.Add("MaxMessageBytes must be at least 32768 (SignalR's own default)");
        }

        if (options.KeepAliveSeconds <= 0)
        {
            problems.Add("KeepAliveSeconds must be positive");
        }

        if (options.ClientTimeoutSeconds <= options.KeepAliveSeconds)
        {
            problems.Add("ClientTimeoutSeconds must be longer than KeepAliveSeconds");
        }

        return problems.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(problems.Select(p => $"{ExecutionHubOptions.SectionName}:{p}"));
    }
}
