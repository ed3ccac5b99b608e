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
/// The state of one iris-runner connection.
/// </summary>
/// <remarks>
/// Two loops share the socket: the receive loop (this class's <see cref="RunAsync"/>) reads client
/// messages, and once a run starts the event pump turns its <see cref="RunEvent"/>s into messages.
/// Sends are serialised by <see cref="_sendLock"/>; at most one receive is ever pending.
/// Every way to end goes through <see cref="CloseAsync"/>: it sends our close frame once and arms
/// <see cref="_lifetime"/> to cancel after a grace period, which aborts a receive still waiting for
/// the client's close frame. When <see cref="RunAsync"/> returns, whatever run is left is disposed —
/// that kills the program — so a client that disappears never leaves a process behind.
/// </remarks>
internal sealed class RunnerConnection : IAsyncDisposable
{
    private const int ReceiveChunkBytes = 16 * 1024;
    private const int MaxCloseDescriptionBytes = 120;

    /// <summary>WebSocket close code 1013 (RFC 6455 registry: "Try Again Later"); the enum has no name for it.</summary>
    internal const WebSocketCloseStatus TryAgainLater = (WebSocketCloseStatus)1013;

    // A writer's own options decide escaping, not the serializer's: keep non-ASCII as UTF-8 here too.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = RunnerProtocolJsonContext.Wire.Options.Encoder };

    private readonly WebSocket _socket;
    private readonly ISessionHost _sessions;
    private readonly SessionOwner _owner;
    private readonly RunnerProtocolOptions _options;
    private readonly ExecutionOptions _limits;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Guid _id = Guid.CreateVersion7();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _sendBuffer = new(4096);
    private readonly Lock _gate = new();
    private readonly List<string> _queuedInput = [];
    private readonly CancellationTokenSource _lifetime;
    private IRunSession? _session;
    private Task? _pump;
    private ITimer? _noCodeTimer;
    private ITimer? _sessionCapTimer;
    private bool _codeReceived;
    private bool _closeSent;
    private bool _eofRequested;
    private int _queuedInputBytes;
    private string? _failedCompileOutput;

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
        _lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _socket = socket;
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
        _lifetime.Dispose();
        _sendLock.Dispose();
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

        await _lifetime.CancelAsync();
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
            var (type, tooBig) = await ReceiveMessageAsync(buffer);
            if (type == WebSocketMessageType.Close)
            {
                await OnClientClosedAsync();
                return;
            }

            if (IsClosing())
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

    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/>, buffering at most the configured maximum.
    /// A bigger message is reported as too big as soon as it crosses the limit; its remaining fragments
    /// are read (and dropped) by later calls while the connection closes.
    /// </summary>
    private async Task<(WebSocketMessageType Type, bool TooBig)> ReceiveMessageAsync(ArrayBufferWriter<byte> buffer)
    {
        while (true)
        {
            var room = _options.MaxMessageBytes - buffer.WrittenCount;
            var memory = buffer.GetMemory(Math.Min(ReceiveChunkBytes, room + 1));
            var result = await _socket.ReceiveAsync(memory[..Math.Min(memory.Length, room + 1)], _lifetime.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketMessageType.Close, false);
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > _options.MaxMessageBytes)
            {
                return (result.MessageType, true);
            }

            if (result.EndOfMessage)
            {
                return (result.MessageType, false);
            }
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
                await OnExitAsync();
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

        if (string.IsNullOrWhiteSpace(message.Language))
        {
            await FailAsync(WebSocketCloseStatus.PolicyViolation, "a code message needs 'language'");
            return;
        }

        if (message.Source is null)
        {
            await FailAsync(WebSocketCloseStatus.PolicyViolation, "a code message needs 'source'");
            return;
        }

        var custom = _options.AllowCustomCommands;
        var request = RunRequestFactory.Interactive(
            message.Language,
            [new SourceFile(message.Filename ?? string.Empty, message.Source)],
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
            session = await _sessions.StartAsync(request, _owner, _lifetime.Token);
        }
        catch (SessionRefusedException ex)
        {
            RunnerProtocolLog.SessionRefused(_logger, _id, ex.Refusal);
            await FailAsync(ex.IsServerFull ? TryAgainLater : WebSocketCloseStatus.PolicyViolation, ex.Message);
            return;
        }
        catch (RunValidationException ex)
        {
            RunnerProtocolLog.RunRefused(_logger, _id, ex.Error);
            await FailAsync(ex.IsTooLarge ? WebSocketCloseStatus.MessageTooBig : WebSocketCloseStatus.PolicyViolation, ex.Message);
            return;
        }

        RunnerProtocolLog.RunStarted(_logger, _id, session.Id, session.Language.Id, request.CustomCompileCommand is not null || request.CustomRunCommand is not null);
        Volatile.Write(ref _session, session);
        _pump = Task.Run(() => PumpEventsAsync(session));

        foreach (var input in DrainQueuedInput())
        {
            await session.WriteInputAsync(input, _lifetime.Token);
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
            if (!await session.WriteInputAsync(data, _lifetime.Token) && _eofRequested)
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

    private async Task OnExitAsync()
    {
        if (Volatile.Read(ref _session) is { } session)
        {
            session.Stop(Verdict.Killed, "stopped by the client");
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
            if (!_codeReceived && !IsClosing())
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
            await SendAsync(Notice(message));
            session.Stop(Verdict.Killed, message);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or OperationCanceledException or WebSocketException)
        {
        }
    }

    private async Task OnClientClosedAsync()
    {
        bool replied;
        await _sendLock.WaitAsync(CancellationToken.None);
        try
        {
            replied = _closeSent;
            Volatile.Write(ref _closeSent, true);
        }
        finally
        {
            _sendLock.Release();
        }

        if (!replied && _socket.State == WebSocketState.CloseReceived)
        {
            try
            {
                using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(_options.CloseGraceSeconds));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "closed by the client", grace.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }
    }

    private async Task PumpEventsAsync(IRunSession session)
    {
        try
        {
            await foreach (var runEvent in session.Events.ReadAllAsync(_lifetime.Token))
            {
                switch (runEvent)
                {
                    case CompileFinished { Succeeded: true } compiled:
                        await SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.CompileSuccess, Data = compiled.Output, Stdout = compiled.Output });
                        break;
                    case CompileFinished failed:
                        _failedCompileOutput = failed.Output;
                        break;
                    case OutputChunk chunk:
                        await SendAsync(new RunnerServerMessage
                        {
                            Type = chunk.Stream == OutputStream.Stdout ? RunnerMessageTypes.Stdout : RunnerMessageTypes.Stderr,
                            Data = chunk.Text,
                        });
                        break;
                    case InputEchoed echoed when echoed.Text != "\n":
                        await SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.Echo, Data = echoed.Text });
                        break;
                    case RunNotice notice:
                        await SendAsync(Notice(notice.Message));
                        break;
                    case RunExited exited:
                        await OnRunExitedAsync(session, exited.Outcome);
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

    private async Task OnRunExitedAsync(IRunSession session, RunOutcome outcome)
    {
        var returnCode = outcome.ExitCode ?? (outcome.Signal is { } signal ? 128 + signal : -1);
        RunnerProtocolLog.RunEnded(_logger, _id, session.Id, outcome.Verdict, returnCode);
        if (outcome.Stage == RunStage.Compile && outcome.Verdict == Verdict.CompileError)
        {
            // The seed ends a failed compile with compile_error and a close, no exit message.
            var output = _failedCompileOutput ?? string.Empty;
            if (output.Length == 0 && outcome.Message is { } why)
            {
                output = why;
            }

            await SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.CompileError, Data = output, Stderr = output });
            await CloseAsync(WebSocketCloseStatus.NormalClosure, "compile error");
            return;
        }

        if (outcome.Stage == RunStage.Compile && outcome.Verdict != Verdict.Ok)
        {
            // Compilation was stopped (limit, user, internal error): show what the compiler said and why.
            if (_failedCompileOutput is { Length: > 0 } partial)
            {
                await SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.Stderr, Data = partial });
            }

            if (outcome.Message is { } stopped)
            {
                await SendAsync(Notice(stopped));
            }
        }
        else if (outcome.Verdict is Verdict.InternalError or Verdict.TimeLimit or Verdict.MemoryLimit && outcome.Message is { } why)
        {
            await SendAsync(Notice(why));
        }

        await SendAsync(new RunnerServerMessage
        {
            Type = RunnerMessageTypes.Exit,
            ReturnCode = returnCode,
            Verdict = outcome.Verdict.ToWireName(),
            TimeMs = (long)outcome.WallTime.TotalMilliseconds,
            MemoryBytes = outcome.PeakMemoryBytes,
            Message = outcome.Verdict == Verdict.Ok ? null : outcome.Message,
        });
        await CloseAsync(WebSocketCloseStatus.NormalClosure, "program exited");
    }

    private static RunnerServerMessage Notice(string message) =>
        new() { Type = RunnerMessageTypes.Stderr, Data = $"\r\n[{message}]\r\n" };

    private Task SendErrorAsync(string error) =>
        SendAsync(new RunnerServerMessage { Type = RunnerMessageTypes.Error, Error = error });

    /// <summary>Sends an error message, then closes with <paramref name="status"/>. A client always learns why.</summary>
    private async Task FailAsync(WebSocketCloseStatus status, string error)
    {
        await SendErrorAsync(error);
        await CloseAsync(status, error);
    }

    private async Task SendAsync(RunnerServerMessage message)
    {
        await _sendLock.WaitAsync(_lifetime.Token);
        try
        {
            if (_closeSent)
            {
                return;
            }

            _sendBuffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_sendBuffer, WriterOptions))
            {
                JsonSerializer.Serialize(writer, message, RunnerProtocolJsonContext.Wire.RunnerServerMessage);
            }

            await _socket.SendAsync(_sendBuffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, _lifetime.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        await _sendLock.WaitAsync(_lifetime.Token);
        try
        {
            if (_closeSent)
            {
                return;
            }

            Volatile.Write(ref _closeSent, true);
            RunnerProtocolLog.ClosedByServer(_logger, _id, status, reason);
            try
            {
                await _socket.CloseOutputAsync(status, CloseDescription(reason), _lifetime.Token);
            }
            catch (WebSocketException)
            {
            }

            // Wait a little for the client's close frame; the receive loop ends when it comes.
            _lifetime.CancelAfter(TimeSpan.FromSeconds(_options.CloseGraceSeconds));
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private bool IsClosing() => Volatile.Read(ref _closeSent);

    /// <summary>A close frame's reason is at most 123 UTF-8 bytes; the full text went in the error message.</summary>
    private static string CloseDescription(string reason)
    {
        if (Encoding.UTF8.GetByteCount(reason) <= MaxCloseDescriptionBytes)
        {
            return reason;
        }

        var cut = reason.Length;
        while (cut > 0 && Encoding.UTF8.GetByteCount(reason.AsSpan(0, cut)) > MaxCloseDescriptionBytes - 3)
        {
            cut--;
        }

        return string.Concat(reason.AsSpan(0, cut), "...");
    }

    private static string FormatDuration(TimeSpan duration) =>
        duration.TotalMinutes >= 1 && duration.Seconds == 0
            ? $"{duration.TotalMinutes.ToString("0", CultureInfo.InvariantCulture)} min"
            : $"{duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    private static string Truncate(string value, int length) =>
        value.Length <= length ? value : string.Concat(value.AsSpan(0, length), "...");
}
