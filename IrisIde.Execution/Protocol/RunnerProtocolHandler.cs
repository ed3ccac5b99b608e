using System.Net.WebSockets;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// Serves the iris-runner protocol on one accepted WebSocket: one <c>code</c> message starts one run,
/// its events stream back as seed messages, and the connection closes when the run is over. Both the
/// web host (<c>/ws</c> and <c>/run</c>) and the runner pod (<c>IrisIde.Worker runner</c>) use this class.
/// </summary>
/// <remarks>
/// Wire rules that go beyond the seed (the seed's clients ignore them):
/// <list type="bullet">
/// <item><c>exit.return_code</c> is the program's exit code, or 128 + the signal number when a signal
/// ended it (a shell's <c>$?</c>), or -1 when there is no exit status at all (internal error).</item>
/// <item><c>exit</c> also carries <c>verdict</c>, <c>time_ms</c>, <c>memory_bytes</c> and, when the program
/// did not end on its own, <c>message</c>.</item>
/// <item>Notices from the run (output limit, idle timeout, refused input) arrive as <c>stderr</c> text
/// framed as <c>\r\n[...]\r\n</c>, so a seed terminal shows them.</item>
/// <item>Input that is only a line ending is not echoed: the seed front-end prints its own newline on
/// Enter, and the seed server skipped that echo too.</item>
/// <item>Errors are <c>{"type":"error","error":"..."}</c>; a message that cannot be understood at all
/// also closes the connection with a WebSocket close status saying why.</item>
/// <item>A client that sends <c>"extensions": 1</c> on <c>code</c> gets the <see cref="RunnerProtocolExtensions"/>
/// (one message per run event, nothing lost); nobody else does, so seed clients see the seed's messages.</item>
/// </list>
/// </remarks>
public sealed class RunnerProtocolHandler(
    ISessionHost sessions,
    IOptions<RunnerProtocolOptions> options,
    IOptions<ExecutionOptions> executionOptions,
    TimeProvider timeProvider,
    ILogger<RunnerProtocolHandler> logger)
{
    /// <summary>
    /// Serves <paramref name="socket"/> for <paramref name="owner"/> until the run is over and the close handshake is done, the client
    /// goes away, or <paramref name="cancellationToken"/> fires. Any run still going is stopped on return.
    /// </summary>
    public async Task HandleAsync(WebSocket socket, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(socket);
        await using var connection = new RunnerConnection(socket, sessions, owner, options.Value, executionOptions.Value, timeProvider, logger, cancellationToken);
        await connection.RunAsync();
    }
}
