using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// The protocol's state on one iris-runner connection: which messages are allowed when, the run it
/// started, input queued before it, and the idle and session-length timers.
/// </summary>
/// <remarks>
/// Two loops share the socket (<see cref="RunnerSocket"/>, which frames messages and owns the close
/// handshake): the receive loop (this class's <see cref="RunAsync"/>) reads client messages, and once a
/// run starts the event pump turns its <see cref="RunEvent"/>s into messages through a
/// <see cref="RunnerEventMapper"/>. When <see cref="RunAsync"/> returns, whatever run is left is disposed —
/// that kills the program — so a client that disappears never leaves a process behind.
/// </remarks>
internal sealed class RunnerConnection : IAsyncDisposable
{
    /// <summary>WebSocket close code 1013 (RFC 6455 registry: "Try Again Later"); the enum has no name for it.</summary>
    internal const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;

    private const int ReceiveChunkBytes = 16 * 1024;

    private readonly RunnerSocket _socket;
    private readonly ISessionHost _sessions;
    private readonly SessionOwner _owner;
    private readonly RunnerProtocolOptions _options;
    private readonly ExecutionOptions _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Guid _id = Guid.CreateVersion7();
    private readonly Lock _gate = new();
    private readonly List<string> _queuedInput = [];
    private RunnerEventMapper _mapper = new(extensions: false);
    private IRunSession? _session;
    private Task? _pump;
    private ITimer? _noCodeTimer;
    private ITimer? _sessionCapTimer;
    private bool _codeReceived;
    private bool _eofRequested;
    private int _queuedInputBytes;

    public RunnerConnection(
        WebSocket socket,
        ISessionHost sessions,
        SessionOwner owner,
        RunnerProtocolOptions options,
        ExecutionOptions limits,
        TimeProvider time,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        _socket = new RunnerSocket(socket, options, logger, _id, cancellationToken);
        _sessions = sessions;
        _owner = owner;
        _options = options;
        _limits = limits;
        _time = time;
        _logger = logger;
    }

    private TimeSpan IdleTimeout => TimeSpan.FromSeconds(_limits.IdleTimeoutSeconds);

    public async Task RunAsync()
    {
        RunnerProtocolLog.ConnectionOpened(_logger, _id);
        _noCodeTimer = _time.CreateTimer(_ => _ = OnNoCodeMessageAsync(), null, IdleTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            await ReceiveLoopAsync();
        }
        catch (OperationCanceledException)
        {
            // Our close grace ran out, or the host is stopping: the socket is aborted.
        }
        catch (WebSocketException)
        {
            // The client vanished without a close frame.
        }
        catch (Exception ex)
        {
            RunnerProtocolLog.ConnectionFailed(_logger, _id, ex);
            try
            {
                await FailAsync(WebSocketCloseStatus.InternalServerError, "internal error: the connection could not be served");
            }
            catch (Exception closeFailure) when (closeFailure is WebSocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
        }
        finally
        {
            await StopEverythingAsync();
            RunnerProtocolLog.ConnectionEnded(_logger, _id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopEverythingAsync();
        _socket.Dispose();
    }

    private async Task StopEverythingAsync()
    {
        if (_noCodeTimer is { } noCode)
        {
            await noCode.DisposeAsync();
        }

        if (_sessionCapTimer is { } cap)
        {
            await cap.DisposeAsync();
        }

        var session = Volatile.Read(ref _session);
        if (session is not null && !session.Completion.IsCompleted)
        {
            RunnerProtocolLog.ClientWentAway(_logger, _id, session.Id);
        }

        await _socket.CancelAsync();
        if (session is not null)
        {
            // Kills the program if it is still running and waits until its sandbox is cleaned up.
            await session.DisposeAsync();
        }

        if (_pump is { } pump)
        {
            await pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(ReceiveChunkBytes);
        while (true)
        {
            buffer.ResetWrittenCount();
            var (type, tooBig) = await _socket.ReceiveMessageAsync(buffer);
            if (type == WebSocketMessageType.Close)
            {
                await _socket.AnswerClientCloseAsync();
                return;
            }

            if (_socket.IsClosing)
            {
                // After our close frame only the client's close frame matters.
                continue;
            }

            if (tooBig)
            {
                await FailAsync(WebSocketCloseStatus.MessageTooBig, $"message too big: the limit is {_options.MaxMessageBytes} bytes per message");
                continue;
            }

            if (type == WebSocketMessageType.Binary)
            {
                await FailAsync(WebSocketCloseStatus.InvalidMessageType, "binary messages are not supported: send JSON text messages");
                continue;
            }

            RunnerClientMessage? message;
            try
            {
                message = JsonSerializer.Deserialize(buffer.WrittenSpan, RunnerProtocolJsonContext.Wire.RunnerClientMessage);
            }
            catch (JsonException ex)
            {
                var where = ex.LineNumber is { } line ? $" (line {line + 1}, position {ex.BytePositionInLine + 1})" : string.Empty;
                await FailAsync(WebSocketCloseStatus.InvalidPayloadData, $"malformed message: not a valid JSON object{where}");
                continue;
            }

            if (message is null)
            {
                await FailAsync(WebSocketCloseStatus.InvalidPayloadData, "malformed message: expected a JSON object with a 'type'");
                continue;
            }

            await HandleMessageAsync(message);
        }
    }

    private async Task HandleMessageAsync(RunnerClientMessage message)
    {
        switch (message.Type)
        {
            case RunnerMessageTypes.Code:
                await OnCodeAsync(message);
                break;
            case RunnerMessageTypes.Input:
                await OnInputAsync(message.Data);
                break;
            case RunnerMessageTypes.Eof:
                OnEof();
                break;
            case RunnerMessageTypes.Exit:
                await OnExitAsync(message);
                break;
            case RunnerMessageTypes.Signal:
                await OnSignalAsync(message.Data);
                break;
            default:
                RunnerProtocolLog.UnknownMessageType(_logger, _id, message.Type?.Length ?? 0);
                var shown = message.Type is null ? "a message without 'type'" : $"unknown message type '{Truncate(message.Type, 40)}'";
                await SendErrorAsync($"{shown}: expected code, input, eof, signal or exit");
                break;
        }
    }

    private async Task OnCodeAsync(RunnerClientMessage message)
    {
        if (_codeReceived)
        {
            await SendErrorAsync("a program is already running on this connection: one run per connection, open a new one to run again");
            return;
        }

        // Only a client that asks gets the extension messages; a seed client's bytes stay the seed's.
        _mapper = new RunnerEventMapper(extensions: message.Extensions >= RunnerProtocolExtensions.Level);

        if (string.IsNullOrWhiteSpace(message.Language))
        {
            await FailAsync(WebSocketCloseStatus.PolicyViolation, "a code message needs 'language'", RunnerProtocolExtensions.ReasonName(RunRequestError.UnknownLanguage));
            return;
        }

        if (message.Source is null && message.Files is not { Count: > 0 })
        {
            await FailAsync(WebSocketCloseStatus.PolicyViolation, "a code message needs 'source'", RunnerProtocolExtensions.ReasonName(RunRequestError.NoSource));
            return;
        }

        var custom = _options.AllowCustomCommands;
        var files = message.Files is { Count: > 0 } many
            ? many.Select(f => f is null ? null : new SourceFile(f.Name ?? string.Empty, f.Content ?? string.Empty))
            : [new SourceFile(message.Filename ?? string.Empty, message.Source ?? string.Empty)];
        var request = RunRequestFactory.Interactive(
            message.Language,
            files,
            custom ? message.CompileCmd : null,
            custom ? message.Command : null);

        _codeReceived = true;
        if (_noCodeTimer is { } noCode)
        {
            await noCode.DisposeAsync();
        }

        IRunSession session;
        try
        {
            session = await _sessions.StartAsync(request, _owner, _socket.Lifetime);
        }
        catch (SessionRefusedException ex)
        {
            RunnerProtocolLog.SessionRefused(_logger, _id, ex.Refusal);
            await FailAsync(ex.IsServerFull ? TryAgainLater : WebSocketCloseStatus.PolicyViolation, ex.Message, RunnerProtocolExtensions.ReasonName(ex.Refusal));
            return;
        }
        catch (RunValidationException ex)
        {
            RunnerProtocolLog.RunRefused(_logger, _id, ex.Error);
            await FailAsync(ex.IsTooLarge ? WebSocketCloseStatus.MessageTooBig : WebSocketCloseStatus.PolicyViolation, ex.Message, RunnerProtocolExtensions.ReasonName(ex.Error));
            return;
        }
        catch (Sessions.Runners.RunnerBackendException ex)
        {
            // The operator's detail (engine, image, node) goes to the log; the client learns what it can do.
            RunnerProtocolLog.RunnerNotStarted(_logger, _id, ex.Message);
            await FailAsync(TryAgainLater, Sessions.Runners.RunnerBackendException.ClientMessage, "runner_unavailable");
            return;
        }

        RunnerProtocolLog.RunStarted(_logger, _id, session.Id, session.Language.Id, request.CustomCompileCommand is not null || request.CustomRunCommand is not null);
        Volatile.Write(ref _session, session);
        if (_mapper.Extensions)
        {
            // Before the pump starts, so it is the first message: the client's ConnectAsync waits for it.
            await _socket.SendAsync(new RunnerServerMessage
            {
                Type = RunnerMessageTypes.Accepted,
                Id = session.Id.ToString(),
                Language = session.Language.Id,
                Files = [.. session.Request.Files.Select(f => f.Name)],
            });
        }

        _pump = Task.Run(() => PumpEventsAsync(session));

        foreach (var input in DrainQueuedInput())
        {
            await session.WriteInputAsync(input, _socket.Lifetime);
        }

        if (_eofRequested)
        {
            session.CloseInput();
        }

        var cap = TimeSpan.FromSeconds(_options.MaxSessionSeconds);
        _sessionCapTimer = _time.CreateTimer(_ => _ = OnSessionCapAsync(session, cap), null, cap, Timeout.InfiniteTimeSpan);
    }

    private List<string> DrainQueuedInput()
    {
        lock (_gate)
        {
            var queued = _queuedInput.ToList();
            _queuedInput.Clear();
            _queuedInputBytes = 0;
            return queued;
        }
    }

    private async Task OnInputAsync(string? data)
    {
        if (data is null)
        {
            await SendErrorAsync("an input message needs 'data'");
            return;
        }

        if (Volatile.Read(ref _session) is { } session)
        {
            if (!await session.WriteInputAsync(data, _socket.Lifetime) && _eofRequested)
            {
                await SendErrorAsync("input refused: stdin is already closed (eof was sent)");
            }

            return;
        }

        if (_eofRequested)
        {
            await SendErrorAsync("input refused: stdin is already closed (eof was sent)");
            return;
        }

        // Input typed before the code message is kept for the program, like input typed while it compiles.
        var bytes = Encoding.UTF8.GetByteCount(data);
        lock (_gate)
        {
            if (_queuedInputBytes + bytes <= RunSession.MaxPendingInputBytes)
            {
                _queuedInput.Add(data);
                _queuedInputBytes += bytes;
                return;
            }
        }

        await SendErrorAsync($"input refused: more than {RunSession.MaxPendingInputBytes} bytes of input before the program started");
    }

    private void OnEof()
    {
        _eofRequested = true;
        Volatile.Read(ref _session)?.CloseInput();
    }

    private async Task OnExitAsync(RunnerClientMessage message)
    {
        if (Volatile.Read(ref _session) is { } session)
        {
            // An extension client relays a stop asked for elsewhere (the IDE's user, an idle cap) with its own verdict and words.
            if (_mapper.Extensions && VerdictExtensions.TryParseWireName(message.Verdict, out var verdict))
            {
                session.Stop(verdict, string.IsNullOrEmpty(message.Data) ? "stopped by the client" : message.Data);
            }
            else
            {
                session.Stop(Verdict.Killed, "stopped by the client");
            }

            return;
        }

        await SendErrorAsync("no program is running: send a code message first");
    }

    private async Task OnSignalAsync(string? name)
    {
        if (!RunnerSignals.TryParse(name, out var signal))
        {
            await SendErrorAsync($"unknown signal '{Truncate(name ?? string.Empty, 20)}': expected one of {string.Join(", ", RunnerSignals.Names)}");
            return;
        }

        if (Volatile.Read(ref _session) is { } session)
        {
            session.Signal(signal);
            return;
        }

        await SendErrorAsync("no program is running: send a code message first");
    }

    private async Task OnNoCodeMessageAsync()
    {
        try
        {
            if (!_codeReceived && !_socket.IsClosing)
            {
                await FailAsync(WebSocketCloseStatus.PolicyViolation, $"no code message within {_limits.IdleTimeoutSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s: closing the idle connection");
            }
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or WebSocketException)
        {
        }
    }

    private async Task OnSessionCapAsync(IRunSession session, TimeSpan cap)
    {
        try
        {
            if (session.Completion.IsCompleted)
            {
                return;
            }

            RunnerProtocolLog.SessionCapReached(_logger, _id, session.Id, cap.TotalSeconds);
            var message = $"session time limit of {FormatDuration(cap)} reached";
            await _socket.SendAsync(_mapper.Notice(message));
            session.Stop(Verdict.Killed, message);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or WebSocketException)
        {
        }
    }

    private async Task PumpEventsAsync(IRunSession session)
    {
        try
        {
            await foreach (var runEvent in session.Events.ReadAllAsync(_socket.Lifetime))
            {
                foreach (var message in _mapper.Map(runEvent))
                {
                    await _socket.SendAsync(message);
                }

                if (runEvent is RunExited { Outcome: var outcome })
                {
                    var returnCode = RunnerEventMapper.ReturnCode(outcome);
                    RunnerProtocolLog.RunEnded(_logger, _id, session.Id, outcome.Verdict, returnCode);
                    await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, RunnerEventMapper.CloseReason(outcome));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException)
        {
            // The client is gone; the receive loop notices too and disposes the run.
        }
    }

    /// <summary>An <c>error</c> message; <paramref name="reason"/> goes out only to extension clients.</summary>
    private Task SendErrorAsync(string error, string? reason = null) =>
        _socket.SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.Error, Error = error, Reason = _mapper.Extensions ? reason : null });

    /// <summary>Sends an error message, then closes with <paramref name="status"/>. A client always learns why.</summary>
    private async Task FailAsync(WebSocketCloseStatus status, string error, string? reason = null)
    {
        await SendErrorAsync(error, reason);
        await _socket.CloseAsync(status, error);
    }

    private static string FormatDuration(TimeSpan duration) =>
        duration.TotalMinutes >= 1 && duration.Seconds == 0
            ? $"{duration.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} min"
            : $"{duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    private static string Truncate(string value, int length) =>
        value.Length <= length ? value : string.Concat(value.AsSpan(0, length), "...");
}
