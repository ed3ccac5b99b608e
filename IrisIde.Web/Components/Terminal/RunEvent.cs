namespace IrisIde.Web.Components.Terminal;

/// <summary>
/// A run event as the terminal module reports it to .NET: the execution hub's event without its
/// output (stdout, stderr and echo stay in the browser), plus <c>disconnected</c> when the hub
/// connection drops and <c>rejected</c> when the page refuses to send a run.
/// </summary>
public sealed record RunEvent(
    string Type,
    string? RunId = null,
    bool? Success = null,
    int? Diagnostics = null,
    string? Verdict = null,
    string? Stage = null,
    int? ExitCode = null,
    int? Signal = null,
    long? TimeMs = null,
    long? CpuMs = null,
    long? MemoryBytes = null,
    string? Message = null);
