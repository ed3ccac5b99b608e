using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Persistence;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.History;

/// <summary>
/// Records every interactive session the hub and <c>/ws</c> start: its <see cref="RunRecord"/> (surface, backend,
/// owner, course, files, result) and its transcript. Sits between the course rules and admission, so it sees the
/// course and limits a run really got, and records only sessions that started. Batch jobs are recorded by the
/// batch submitter and pass through untouched.
/// </summary>
public sealed class RecordingSessionHost(
    ISessionHost inner,
    RunHistoryQueue queue,
    LiveRuns live,
    IOptions<HistoryOptions> options,
    TimeProvider time,
    ILogger<RecordingSessionHost> logger) : ISessionHost
{
    public string Name => inner.Name;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var session = await inner.StartAsync(request, owner, cancellationToken);
        if (owner.Surface == SessionSurface.Batch || !options.Value.Enabled)
        {
            return session;
        }

        LiveRun? watched = null;
        try
        {
            var record = Opened(session, owner);
            watched = live.Open(new LiveRunInfo(session.Id, record.Owner, record.Course, record.Surface!, record.Language, record.QueuedAtUtc));
            var transcript = new RunTranscript(session.Id, queue, options.Value.MaxTranscriptBytes, watched);
            queue.Enqueue(new HistoryRunOpened(record));
            var recorded = new RecordedSession(session, transcript, watched, queue, time, logger);
            watched.StopsWith(reason => recorded.Stop(Verdict.Killed, reason));
            watched.ReportsFrom(session);
            return recorded;
        }
        catch (Exception e)
        {
            // Recording must never cost a run: a session that cannot be recorded still runs (unwatched).
            watched?.End();
            HistoryLog.RecordingFailed(logger, session.Id, e);
            return session;
        }
    }

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => inner.GetLanguagesAsync(cancellationToken);

    private RunRecord Opened(IRunSession session, SessionOwner owner)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var files = session.Request.Files.Select(f => new BatchFile(f.Name, f.Content)).ToList();
        return new RunRecord
        {
            Id = session.Id,
            Owner = owner.UserId,
            Course = owner.Course,
            ClientKey = owner.Key,
            Kind = RunKind.Interactive,
            Status = RunRecordStatus.Running,
            Surface = owner.Surface == SessionSurface.Hub ? RunSurfaces.Ide : RunSurfaces.WebSocket,
            Backend = inner.Name,
            Language = session.Language.Id,
            FilesJson = JsonSerializer.Serialize(files, HistoryJsonContext.Default.ListBatchFile),
            Stdin = session.Request.Stdin,
            // What the program got, not what was asked (a request's overrides are clamped); unknown for a remote runner.
            LimitsJson = session.Limits is { } limits ? JsonSerializer.Serialize(limits, HistoryJsonContext.Default.BatchLimits) : "null",
            QueuedAtUtc = now,
            StartedAtUtc = now,
        };
    }
}

/// <summary>
/// A session as its surface sees it, recorded. The surface reads the session's own event channel through a reader
/// that records each event as it is read (<see cref="ObservingEventReader"/>): no task or channel of its own, so recording
/// adds no hop between the program and the terminal, and a surface that reads slowly still holds the program back
/// exactly as without recording. Input, signals and stops are recorded as the surface makes them; the result is
/// stored once the surface has read the exit, or at disposal (events the surface never read are recorded then).
/// </summary>
internal sealed class RecordedSession : DelegatingRunSession
{
    private readonly RunTranscript _transcript;
    private readonly LiveRun _live;
    private readonly RunHistoryQueue _queue;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ObservingEventReader _events;
    private readonly Lock _readGate = new();
    private readonly SignalAllowance _signals;
    private int _closed;
    private int _inputClosed;
    private int _stopped;

    // Set once the exit is recorded: a surface that stops or signals a session already over (as it closes) adds
    // nothing after the exit, which stays the transcript's last event.
    private volatile bool _exited;

    public RecordedSession(IRunSession session, RunTranscript transcript, LiveRun live, RunHistoryQueue queue, TimeProvider time, ILogger logger)
        : base(session)
    {
        _transcript = transcript;
        _live = live;
        _queue = queue;
        _time = time;
        _logger = logger;
        _signals = new SignalAllowance(time);
        // One lock: a surface's reader and the disposal's drain never record out of order.
        _events = new ObservingEventReader(session.Events, ObserveRead, _readGate);
        if (session.Request.Stdin is { Length: > 0 } stdin)
        {
            Record(TranscriptStreams.Stdin, stdin, TimeSpan.Zero);
        }
    }

    public override ChannelReader<RunEvent> Events => _events;

    // WriteInputAsync is not overridden: what the program received is recorded from the session's echo event,
    // after newline normalisation.

    // A client can repeat "eof", "signal" and "stop" at line rate: each is recorded once, or at the rate the run passes
    // signals on (a dropped signal is neither recorded nor sent on, to a remote runner either).

    public override void CloseInput()
    {
        if (Interlocked.Exchange(ref _inputClosed, 1) == 0)
        {
            RecordCall("stdin closed");
        }

        Inner.CloseInput();
    }

    public override void Signal(int signal)
    {
        if (!_signals.TryTake())
        {
            return;
        }

        RecordCall("signal " + (RunnerSignals.TryGetName(signal, out var name) ? name : signal.ToString(CultureInfo.InvariantCulture)));
        Inner.Signal(signal);
    }

    public override void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user")
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            RecordCall($"stopped ({verdict.ToWireName()}): {message}");
        }

        Inner.Stop(verdict, message);
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            // What the surface never read (it went away) is still the run's: record it, then the result.
            while (_events.TryRead(out _))
            {
            }

            await CloseOnceAsync();
        }
    }

    private void ObserveRead(RunEvent item)
    {
        Observe(item);
        if (item is RunExited)
        {
            _ = CloseOnceAsync();
        }
    }

    private Task CloseOnceAsync() => Interlocked.Exchange(ref _closed, 1) == 0 ? CloseAsync() : Task.CompletedTask;

    private void Observe(RunEvent item)
    {
        switch (item)
        {
            case OutputChunk output:
                Record(output.Stream == OutputStream.Stderr ? TranscriptStreams.Stderr : TranscriptStreams.Stdout, output.Text, output.Elapsed);
                break;
            case InputEchoed echoed:
                Record(TranscriptStreams.Stdin, echoed.Text, echoed.Elapsed);
                break;
            case CompileStarted:
                Record(TranscriptStreams.Event, "compiling", item.Elapsed);
                break;
            case CompileFinished { Succeeded: true }:
                Record(TranscriptStreams.Event, "compiled", item.Elapsed);
                break;
            case CompileFinished failed:
                Record(TranscriptStreams.Event, "compile error\n" + failed.Output, item.Elapsed);
                break;
            case ProgramStarted:
                Record(TranscriptStreams.Event, "started", item.Elapsed);
                break;
            case RunNotice notice:
                Record(TranscriptStreams.Event, "notice: " + notice.Message, item.Elapsed);
                break;
            case RunExited exited:
                _exited = true;
                Record(TranscriptStreams.Event, Describe(exited.Outcome), item.Elapsed, final: true);
                break;
        }
    }

    private static string Describe(RunOutcome outcome)
    {
        var end = outcome.Signal is { } signal
            ? "signal " + (RunnerSignals.TryGetName(signal, out var name) ? name : signal.ToString(CultureInfo.InvariantCulture))
            : outcome.ExitCode is { } code ? "code " + code.ToString(CultureInfo.InvariantCulture) : "no exit code";
        return $"exit {outcome.Verdict.ToWireName()}, {end}";
    }

    private void RecordCall(string what)
    {
        if (!_exited && !Inner.Completion.IsCompleted)
        {
            Record(TranscriptStreams.Event, what);
        }
    }

    private void Record(string stream, string data, TimeSpan? elapsed = null, bool final = false)
    {
        if (_transcript.Add(stream, data, elapsed, final))
        {
            HistoryLog.QueueOverflow(_logger, _transcript.RunId);
        }
    }

    private async Task CloseAsync()
    {
        RunOutcome outcome;
        try
        {
            outcome = await Inner.Completion;
        }
        catch (Exception e)
        {
            outcome = RunOutcome.Failed(RunStage.Run, e.Message);
        }
        finally
        {
            _live.End();
        }

        _queue.Enqueue(new HistoryRunClosed(
            Inner.Id,
            outcome.Verdict == Verdict.InternalError ? RunRecordStatus.Failed : RunRecordStatus.Completed,
            outcome.Verdict.ToWireName(),
            outcome.ExitCode,
            outcome.Signal,
            (long)outcome.WallTime.TotalMilliseconds,
            (long)outcome.CpuTime.TotalMilliseconds,
            outcome.PeakMemoryBytes,
            _time.GetUtcNow().UtcDateTime,
            outcome.Verdict == Verdict.InternalError ? outcome.Message : null,
            _transcript.Truncated,
            _transcript.Incomplete));
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(List<BatchFile>))]
[JsonSerializable(typeof(BatchLimits))]
internal sealed partial class HistoryJsonContext : JsonSerializerContext;
