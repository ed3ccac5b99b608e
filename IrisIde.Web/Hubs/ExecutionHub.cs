using IrisIde.Execution.Admission;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using Microsoft.AspNetCore.SignalR;

namespace IrisIde.Web.Hubs;

/// <summary>
/// The IDE's execution hub at <c>/hubs/execution</c>: <c>StartRun</c> streams a run's events; the other
/// methods steer a run the calling connection started. Runs go through the same <see cref="RunPipeline"/>
/// as <c>/ws</c>, always interactive. See README ("The execution hub") for the wire contract.
/// </summary>
public sealed class ExecutionHub(ExecutionHubRuns runs, LiveWatchStreams watching, ILogger<ExecutionHub> logger) : Hub
{
    /// <summary>
    /// Starts a run and streams its events: <c>started</c> first, <c>exit</c> last; a refused request is a
    /// single <c>error</c> event. Cancelling the stream (or closing the connection) stops the run.
    /// </summary>
    public IAsyncEnumerable<RunEventMessage> StartRun(StartRunRequest request, CancellationToken cancellationToken)
    {
        // The course is checked (membership, archive, languages, limits) where the session starts, as on /ws.
        var (course, refusal) = CourseRunPolicy.Select(Context.User, request?.Course);
        return refusal is null ? runs.StreamAsync(Caller(course), request, cancellationToken) : RefusedAsync(refusal);
    }

    /// <summary>
    /// Live watch: streams a student's running session read-only — <c>opened</c>, what it showed so far and then
    /// as it happens (<c>chunk</c>: t, stream, data), <c>ended</c> — for its course's staff and admins; anyone
    /// else, or a run that is not going, gets a single <c>error</c>. The student's IDE is told (<c>watching</c>).
    /// </summary>
    public IAsyncEnumerable<LiveWatchMessage> WatchRun(string runId, CancellationToken cancellationToken) =>
        watching.WatchAsync(Context.User, runId, Context.ConnectionId, cancellationToken);

    /// <summary>Writes <paramref name="text"/> to the program's stdin (<c>\r\n</c> and <c>\r</c> become <c>\n</c>).</summary>
    public async Task SendInput(string runId, string text)
    {
        if (text is null)
        {
            throw new HubException("SendInput needs the text to send");
        }

        var session = Owned(runId, nameof(SendInput));
        if (!await session.WriteInputAsync(text, Context.ConnectionAborted))
        {
            throw new HubException("input refused: the program's stdin is closed (end of input was sent or the run is over), or it has too much unread input");
        }
    }

    /// <summary>Closes the program's stdin once the queued input is delivered (Ctrl+D).</summary>
    public void SendEof(string runId) => Owned(runId, nameof(SendEof)).CloseInput();

    /// <summary>Sends SIGINT to the program (Ctrl+C).</summary>
    public void Interrupt(string runId) => Owned(runId, nameof(Interrupt)).Signal(RunnerSignals.Interrupt);

    /// <summary>Ends the run now; its <c>exit</c> event reports verdict <c>killed</c>.</summary>
    public void Stop(string runId) => Owned(runId, nameof(Stop)).Stop(Verdict.Killed, "stopped by the user");

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        runs.StopAllOf(Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    private IRunSession Owned(string? runId, string method)
    {
        if (runs.Find(runId, Context.ConnectionId) is { } session)
        {
            return session;
        }

        ExecutionHubLog.ControlRefused(logger, Context.ConnectionId, method);
        throw new HubException($"no run '{Shorten(runId)}' on this connection: it has ended, or it was started by another connection");
    }

    private static async IAsyncEnumerable<RunEventMessage> RefusedAsync(string refusal)
    {
        await Task.CompletedTask;
        yield return RunEventMapper.Error(refusal);
    }

    private HubCaller Caller(string? course)
    {
        // The same key as /ws: a client's hub runs and its WebSocket sessions share one allowance.
        var authenticated = Context.User?.Identity?.IsAuthenticated == true;
        var owner = Context.GetHttpContext() is { } http
            ? ClientKeys.Owner(http, SessionSurface.Hub)
            : new SessionOwner($"connection:{Context.ConnectionId}", null, null, SessionSurface.Hub);
        return new HubCaller(Context.ConnectionId, owner with { Course = course }, authenticated);
    }

    private static string Shorten(string? value) =>
        value is null ? string.Empty : value.Length <= 40 ? value : string.Concat(value.AsSpan(0, 40), "...");
}
