using System.Threading.Channels;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Execution.Sessions;

/// <summary>
/// One interactive (or batch) run as its client sees it, wherever it runs: in this process
/// (<see cref="RunSession"/>) or in a runner container or pod reached over the iris-runner protocol
/// (<c>RunnerProtocolClient</c>). Every surface (<c>/ws</c>, <c>/run</c>, the execution hub)
/// drives runs through this interface only.
/// </summary>
/// <remarks>
/// The owner of a session must dispose it: that stops the program if it is still going and waits until
/// everything it held is released. Disposing is idempotent and safe from several threads at once.
/// </remarks>
public interface IRunSession : IAsyncDisposable
{
    Guid Id { get; }

    /// <summary>The resolved language (an alias such as <c>py</c> is already resolved).</summary>
    LanguageDefinition Language { get; }

    /// <summary>The request as it was started (an empty first file name means the language's default).</summary>
    RunRequest Request { get; }

    /// <summary>
    /// The limits the program runs under (a request's overrides clamped to the server's maxima, the rest defaults);
    /// null where the backend does not say (a runner reached over the iris-runner protocol resolves its own).
    /// </summary>
    BatchLimits? Limits { get; }

    /// <summary>The run's events in order; <see cref="RunExited"/> is last, then the channel completes.</summary>
    ChannelReader<RunEvent> Events { get; }

    /// <summary>Completes with the outcome once the run is over and cleaned up.</summary>
    Task<RunOutcome> Completion { get; }

    /// <summary>
    /// Queues input for the program. A lone <c>\r</c> or <c>\r\n</c> becomes <c>\n</c>. Returns false when
    /// the input was refused (stdin closed, run over, too much unread input).
    /// </summary>
    ValueTask<bool> WriteInputAsync(string text, CancellationToken cancellationToken);

    /// <summary>Closes the program's stdin once the queued input is delivered (Ctrl+D).</summary>
    void CloseInput();

    /// <summary>Sends a signal to the program (SIGINT for Ctrl+C). Ignored before the program runs.</summary>
    void Signal(int signal);

    /// <summary>Ends the run now; the outcome reports <paramref name="verdict"/>.</summary>
    void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user");

    /// <summary>What the program has used so far, for a live view; null when not running here or not known.</summary>
    SandboxUsage? ReadUsage();

    /// <summary>Time since the program's last input or output; null where the backend does not say.</summary>
    TimeSpan? IdleFor { get; }
}
