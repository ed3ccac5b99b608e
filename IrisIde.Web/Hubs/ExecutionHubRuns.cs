using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Runner;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Hubs;

/// <summary>Who is calling the hub: the connection, and the owner its runs are admitted and recorded under.</summary>
public sealed record HubCaller(string ConnectionId, SessionOwner Owner, bool IsAuthenticated)
{
    public string OwnerKey => Owner.Key;

    public string? UserId => Owner.UserId;
}

/// <summary>
/// The runs started through the execution hub: who owns each, how many each owner has going, and the
/// stream that carries a run's events to its connection.
/// </summary>
/// <remarks>
/// Lifecycle: hub instances live for one call, so runs live here. A run belongs to the
/// <c>StartRun</c> stream that started it: the stream's <c>finally</c> disposes the session (which kills the
/// program and waits until its sandbox is gone) and releases its slot, whether the stream ended with the
/// <c>exit</c> event, was cancelled by the client, or died with the connection — SignalR cancels a
/// stream's token when its connection closes, including one closed by the client timeout after a
/// silent drop. <see cref="StopAllOf"/> from <c>OnDisconnectedAsync</c> additionally stops every run of
/// the connection at once, so nothing depends on the stream noticing first.
/// </remarks>
public sealed class ExecutionHubRuns(
    ISessionHost sessions,
    IOptions<RunnerAccessOptions> access,
    ILogger<ExecutionHubRuns> logger)
{
    /// <summary>Consecutive output chunks already waiting are sent as one event up to this many characters.</summary>
    internal const int MaxCoalescedChars = 64 * 1024;

    private readonly ConcurrentDictionary<Guid, OwnedRun> _runs = new();

    /// <summary>The run <paramref name="runId"/> if <paramref name="connectionId"/> started it and it is still streaming.</summary>
    public IRunSession? Find(string? runId, string connectionId) =>
        Guid.TryParse(runId, out var id) && _runs.TryGetValue(id, out var run) && run.ConnectionId == connectionId ? run.Session : null;

    /// <summary>Stops every run of a closed connection; each run's stream then cleans it up.</summary>
    public void StopAllOf(string connectionId)
    {
        var owned = _runs.Values.Where(r => r.ConnectionId == connectionId).ToList();
        if (owned.Count == 0)
        {
            return;
        }

        ExecutionHubLog.ConnectionClosedWithRuns(logger, connectionId, owned.Count);
        foreach (var run in owned)
        {
            run.Session.Stop(Verdict.Killed, "the connection closed");
        }
    }

    /// <summary>The hub connection that started <paramref name="runId"/>, while it streams.</summary>
    public string? ConnectionOf(Guid runId) => _runs.TryGetValue(runId, out var run) ? run.ConnectionId : null;

    /// <summary>The ids of the runs streaming now (what the admin dashboard will list).</summary>
    public IReadOnlyCollection<Guid> RunIds => [.. _runs.Keys];

    /// <summary>Runs <paramref name="request"/> and yields its events; refusals are one <c>error</c> event.</summary>
    public async IAsyncEnumerable<RunEventMessage> StreamAsync(HubCaller caller, StartRunRequest? request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (!access.Value.AllowAnonymousRuns && !caller.IsAuthenticated)
        {
            ExecutionHubLog.AnonymousRefused(logger, caller.ConnectionId);
            yield return RunEventMapper.Error("sign-in required: anonymous runs are disabled on this server");
            yield break;
        }

        if (request is null || string.IsNullOrWhiteSpace(request.Language))
        {
            ExecutionHubLog.NoLanguage(logger, caller.ConnectionId);
            yield return RunEventMapper.Error("a run needs a language");
            yield break;
        }

        IRunSession? session = null;
        var finished = false;
        try
        {
            var (started, refusal) = await StartAsync(caller, request, cancellationToken);
            if (started is null)
            {
                yield return RunEventMapper.Error(refusal!);
                yield break;
            }

            session = started;
            _runs[session.Id] = new OwnedRun(caller.ConnectionId, session);
            ExecutionHubLog.RunStarted(logger, caller.ConnectionId, session.Id, session.Language.Id);
            yield return RunEventMapper.Started(session.Id);

            var fileNames = FileNames(session);
            await foreach (var message in ReadCoalescedAsync(session.Events, fileNames, cancellationToken))
            {
                yield return message;
                if (message.Type == RunEventTypes.Exit)
                {
                    finished = true;
                    ExecutionHubLog.RunStreamEnded(logger, caller.ConnectionId, session.Id, message.Verdict ?? string.Empty);
                }
            }
        }
        finally
        {
            if (session is not null)
            {
                _runs.TryRemove(session.Id, out _);
                if (!finished)
                {
                    ExecutionHubLog.RunAbandoned(logger, caller.ConnectionId, session.Id);
                }

                // Kills the program if it is still going and waits until its sandbox is cleaned up.
                await session.DisposeAsync();
            }
        }
    }

    private async Task<(IRunSession? Session, string? Refusal)> StartAsync(HubCaller caller, StartRunRequest request, CancellationToken cancellationToken)
    {
        var runRequest = RunRequestFactory.Interactive(request.Language, request.Files?.Select(f => f is null ? null : new SourceFile(f.Name ?? string.Empty, f.Content ?? string.Empty)));
        try
        {
            return (await sessions.StartAsync(runRequest, caller.Owner, cancellationToken), null);
        }
        catch (RunValidationException ex)
        {
            ExecutionHubLog.RunRefused(logger, caller.ConnectionId, ex.Error);
            return (null, ex.Message);
        }
        catch (SessionRefusedException ex)
        {
            ExecutionHubLog.AdmissionRefused(logger, caller.ConnectionId, ex.Refusal);
            return (null, ex.Message);
        }
        catch (IrisIde.Execution.Sessions.Runners.RunnerBackendException ex)
        {
            ExecutionHubLog.RunnerNotStarted(logger, caller.ConnectionId, ex.Message);
            return (null, IrisIde.Execution.Sessions.Runners.RunnerBackendException.ClientMessage);
        }
    }

    /// <summary>
    /// Reads the run's events and merges output chunks of one stream that are already waiting, so a
    /// flood becomes fewer, larger messages. It never waits for more output: an event is sent as soon
    /// as the reader is free, so merging adds no delay.
    /// </summary>
    internal static async IAsyncEnumerable<RunEventMessage> ReadCoalescedAsync(
        ChannelReader<RunEvent> events,
        IReadOnlyCollection<string> fileNames,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RunEvent? held = null;
        StringBuilder? merged = null;
        while (true)
        {
            RunEvent current;
            if (held is not null)
            {
                current = held;
                held = null;
            }
            else if (!events.TryRead(out current!))
            {
                if (!await events.WaitToReadAsync(cancellationToken))
                {
                    yield break;
                }

                continue;
            }

            if (current is OutputChunk chunk)
            {
                merged ??= new StringBuilder();
                merged.Clear().Append(chunk.Text);
                while (merged.Length < MaxCoalescedChars && events.TryRead(out var next))
                {
                    if (next is OutputChunk more && more.Stream == chunk.Stream)
                    {
                        merged.Append(more.Text);
                    }
                    else
                    {
                        held = next;
                        break;
                    }
                }

                yield return RunEventMapper.Output(chunk.Stream, merged.ToString());
                continue;
            }

            if (RunEventMapper.Map(current, fileNames) is { } message)
            {
                yield return message;
                if (current is RunExited)
                {
                    yield break;
                }
            }
        }
    }

    private static string[] FileNames(IRunSession session) =>
        [.. session.Request.Files.Select((f, i) => i == 0 && string.IsNullOrEmpty(f.Name) ? session.Language.FileName : f.Name)];

    private sealed record OwnedRun(string ConnectionId, IRunSession Session);
}
