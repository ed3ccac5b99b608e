using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// The inverse of the <c>/ws</c> server: a run on a runner (<c>IrisIde.Worker runner</c>, in a container
/// or pod) reached over the iris-runner protocol, seen as an <see cref="IRunSession"/> like a local run.
/// It asks for the <see cref="RunnerProtocolExtensions"/>, so the runner's events arrive one message
/// each and come out here as the same <see cref="RunEvent"/>s, in the same order.
/// </summary>
/// <remarks>
/// Lifecycle: <c>ConnectAsync</c> connects, sends <c>code</c> and waits for <c>accepted</c> (or the
/// refusal, thrown as a local host would throw it). Then two loops share the socket: the receive loop
/// turns messages into events on a bounded channel (a slow reader stops it reading, so a flooding runner
/// is held back by TCP, not buffered), and the send loop writes the controls (<c>input</c>, <c>eof</c>,
/// <c>signal</c>, <c>exit</c>) in the order they were given. The run ends when <c>exit</c> arrives, or, if
/// the connection breaks first, with <c>internal_error</c> saying so: the receive loop always ends (the
/// socket's keep-alive notices a silent peer), so <see cref="Completion"/> always completes.
/// Disposing stops a run still going, waits a grace period for the runner to confirm, then drops the
/// connection (the runner then kills the program itself).
/// </remarks>
public sealed class RunnerProtocolClient : IRunSession
{
    private const int ReceiveChunkBytes = 16 * 1024;

    /// <summary>After a message this big the receive buffer is dropped rather than kept for the session's life.</summary>
    private const int RetainedBufferBytes = 1024 * 1024;

    private readonly ClientWebSocket _socket;
    private readonly Uri _runner;
    private readonly RunnerProtocolClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly long _startedAt;
    private readonly Channel<RunEvent> _events;
    private readonly Channel<RunnerClientMessage> _outbox = Channel.CreateUnbounded<RunnerClientMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _lifetime = new();
    private readonly CancellationTokenSource _abandoned = new();
    private readonly TaskCompletionSource<RunOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private ArrayBufferWriter<byte> _receiveBuffer = new(ReceiveChunkBytes);
    private long _pendingInputBytes;
    private bool _inputClosed;
    private (Verdict Verdict, string Message)? _stopRequest;
    private RunStage _stage = RunStage.Run;
    private bool _compileFailed;
    private Task _receiveLoop = Task.CompletedTask;
    private Task _sendLoop = Task.CompletedTask;
    private Task? _disposal;

    private RunnerProtocolClient(
        ClientWebSocket socket,
        Uri runner,
        Guid id,
        LanguageDefinition language,
        RunRequest request,
        RunnerProtocolClientOptions options,
        ILogger logger,
        TimeProvider time,
        long startedAt)
    {
        _socket = socket;
        _runner = runner;
        Id = id;
        Language = language;
        Request = request;
        _options = options;
        _logger = logger;
        _time = time;
        _startedAt = startedAt;
        _events = Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(options.MaxBufferedEvents)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleWriter = true,
        });
    }

    private enum Received
    {
        Message,
        Closed,
        TooBig,
        Malformed,
    }

    /// <summary>The run's id on the runner (from <c>accepted</c>), so logs on both sides name the same run.</summary>
    public Guid Id { get; }

    public LanguageDefinition Language { get; }

    public RunRequest Request { get; }

    /// <summary>Unknown here: the runner resolves the limits with its own configuration.</summary>
    public BatchLimits? Limits => null;

    /// <summary>Unknown here: the program runs in the runner's sandbox, which the protocol does not report on until the exit.</summary>
    public SandboxUsage? ReadUsage() => null;

    /// <summary>Unknown here: the runner keeps the idle clock.</summary>
    public TimeSpan? IdleFor => null;

    public ChannelReader<RunEvent> Events => _events.Reader;

    public Task<RunOutcome> Completion => _completion.Task;

    /// <summary>
    /// Connects to the runner's protocol endpoint (<paramref name="runner"/>, a <c>ws://</c> or <c>wss://</c>
    /// address such as <c>ws://10.0.0.7:8080/ws</c>), starts <paramref name="request"/> and returns the session
    /// once the runner has accepted it.
    /// </summary>
    /// <param name="catalog">Resolves the language the runner names (runner and host ship the same catalogue).</param>
    /// <exception cref="RunValidationException">The runner refused the request (unknown language, bad file name, ...).</exception>
    /// <exception cref="SessionRefusedException">The runner is full (close 1013) or its admission said no.</exception>
    /// <exception cref="RunnerUnavailableException">The runner could not be reached, or broke the protocol before accepting.</exception>
    public static Task<RunnerProtocolClient> ConnectAsync(
        Uri runner,
        RunRequest request,
        LanguageCatalog catalog,
        RunnerProtocolClientOptions options,
        ILogger logger,
        CancellationToken cancellationToken) =>
        ConnectAsync(runner, null, request, catalog, options, logger, cancellationToken);

    /// <summary>
    /// As <see cref="ConnectAsync(Uri, RunRequest, LanguageCatalog, RunnerProtocolClientOptions, ILogger, CancellationToken)"/>,
    /// through <paramref name="invoker"/> (for example one that reaches a runner's unix socket); null: a direct connection.
    /// </summary>
    public static async Task<RunnerProtocolClient> ConnectAsync(
        Uri runner,
        HttpMessageInvoker? invoker,
        RunRequest request,
        LanguageCatalog catalog,
        RunnerProtocolClientOptions options,
        ILogger logger,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);

        var time = TimeProvider.System;
        var startedAt = time.GetTimestamp();
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = options.KeepAliveInterval;
        socket.Options.KeepAliveTimeout = options.KeepAliveTimeout;
        RunnerProtocolClient? client = null;
        try
        {
            using var connecting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connecting.CancelAfter(options.ConnectTimeout);
            var buffer = new ArrayBufferWriter<byte>(ReceiveChunkBytes);
            (Received Kind, RunnerServerMessage? Message) first;
            try
            {
                await socket.ConnectAsync(runner, invoker, connecting.Token);
                await SendAsync(socket, CodeMessage(request), buffer, connecting.Token);
                first = await ReceiveAsync(socket, buffer, options.MaxMessageBytes, connecting.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                var why = ex is OperationCanceledException ? $"no answer within {options.ConnectTimeout.TotalSeconds:0.#} s" : ex.Message;
                RunnerProtocolClientLog.RunnerUnreachable(logger, runner, why);
                throw new RunnerUnavailableException($"the runner at {runner} could not be reached: {why}", ex);
            }

            var message = first.Message;
            if (first.Kind != Received.Message || message is null)
            {
                var why = first.Kind switch
                {
                    Received.Closed => $"it closed the connection ({socket.CloseStatus}: {socket.CloseStatusDescription})",
                    Received.TooBig => $"its first message is over {options.MaxMessageBytes} bytes",
                    _ => "its first message is not protocol JSON",
                };
                RunnerProtocolClientLog.RunnerUnreachable(logger, runner, why);
                throw new RunnerUnavailableException($"the runner at {runner} did not start the run: {why}");
            }

            if (message.Type == RunnerMessageTypes.Error)
            {
                var refusal = await RefusalAsync(socket, message, buffer, options.MaxMessageBytes, connecting.Token);
                RunnerProtocolClientLog.RunRefused(logger, runner, message.Reason ?? "unspecified", message.Error ?? string.Empty);
                throw refusal;
            }

            // A runner without the extensions never sends accepted: its first message is already an event.
            var accepted = message.Type == RunnerMessageTypes.Accepted;
            var languageName = accepted && message.Language is { Length: > 0 } id ? id : request.Language;
            if (!catalog.TryResolve(languageName, out var language))
            {
                throw new RunnerUnavailableException($"the runner at {runner} runs language '{languageName}', which this server's catalogue does not know");
            }

            var runId = accepted && Guid.TryParse(message.Id, out var parsed) ? parsed : Guid.CreateVersion7();
            var files = accepted && message.Files is { } names && names.Count == request.Files.Count
                ? [.. request.Files.Zip(names, (file, name) => file with { Name = name })]
                : request.Files;
            client = new RunnerProtocolClient(socket, runner, runId, language, request with { Language = language.Id, Files = files }, options, logger, time, startedAt);
            RunnerProtocolClientLog.RunAccepted(logger, runner, runId, language.Id, accepted);
            client.Start(accepted ? null : message);
            return client;
        }
        finally
        {
            if (client is null)
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>Queues input for the program; the runner normalises line endings and echoes it back.</summary>
    public ValueTask<bool> WriteInputAsync(string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return ValueTask.FromResult(true);
        }

        var bytes = Encoding.UTF8.GetByteCount(text);
        lock (_gate)
        {
            if (_inputClosed)
            {
                return ValueTask.FromResult(false);
            }

            // Input not yet sent counts here, input not yet read counts on the runner: both are capped.
            if (_pendingInputBytes + bytes > RunSession.MaxPendingInputBytes)
            {
                return ValueTask.FromResult(false);
            }

            _pendingInputBytes += bytes;
            return ValueTask.FromResult(_outbox.Writer.TryWrite(new RunnerClientMessage { Type = RunnerMessageTypes.Input, Data = text }));
        }
    }

    public void CloseInput()
    {
        lock (_gate)
        {
            if (_inputClosed)
            {
                return;
            }

            _inputClosed = true;
            _outbox.Writer.TryWrite(new RunnerClientMessage { Type = RunnerMessageTypes.Eof });
        }
    }

    /// <summary>Sends a signal by name; a number the protocol has no name for is ignored.</summary>
    public void Signal(int signal)
    {
        if (RunnerSignals.TryGetName(signal, out var name))
        {
            _outbox.Writer.TryWrite(new RunnerClientMessage { Type = RunnerMessageTypes.Signal, Data = name });
        }
    }

    /// <summary>Asks the runner to end the run with <paramref name="verdict"/> and <paramref name="message"/> (the first stop wins).</summary>
    public void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user")
    {
        lock (_gate)
        {
            if (_stopRequest is not null)
            {
                return;
            }

            _stopRequest = (verdict, message);
            _inputClosed = true;
            _outbox.Writer.TryWrite(new RunnerClientMessage { Type = RunnerMessageTypes.Exit, Verdict = verdict.ToWireName(), Data = message });
        }
    }

    /// <summary>
    /// Stops the run if it is still going, waits (at most <see cref="RunnerProtocolClientOptions.StopGrace"/>)
    /// for the runner to report its end, then releases the connection. Idempotent and safe to call concurrently.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        Task disposal;
        lock (_gate)
        {
            disposal = _disposal ??= DisposeCoreAsync();
        }

        return new ValueTask(disposal);
    }

    private async Task DisposeCoreAsync()
    {
        if (!_completion.Task.IsCompleted)
        {
            Stop(Verdict.Killed, "the client went away");
        }

        // Nobody reads events any more: drop them, so the receive loop never waits on a full channel.
        await _abandoned.CancelAsync();
        try
        {
            await _completion.Task.WaitAsync(_options.StopGrace, _time);
        }
        catch (TimeoutException)
        {
            RunnerProtocolClientLog.StopNotConfirmed(_logger, Id, _runner, _options.StopGrace.TotalSeconds);
        }

        await _lifetime.CancelAsync();
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _sendLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
    }

    private void Start(RunnerServerMessage? first)
    {
        _receiveLoop = Task.Run(() => ReceiveLoopAsync(first));
        _sendLoop = Task.Run(SendLoopAsync);
    }

    private async Task ReceiveLoopAsync(RunnerServerMessage? first)
    {
        RunOutcome? outcome = null;
        var exitSeen = false;
        string lost = "the connection closed";
        try
        {
            if (first is not null)
            {
                outcome = await HandleAsync(first);
            }

            while (outcome is null)
            {
                if (_receiveBuffer.Capacity > RetainedBufferBytes)
                {
                    _receiveBuffer = new ArrayBufferWriter<byte>(ReceiveChunkBytes);
                }

                var (kind, message) = await ReceiveAsync(_socket, _receiveBuffer, _options.MaxMessageBytes, _lifetime.Token);
                if (kind == Received.Message && message is not null)
                {
                    outcome = await HandleAsync(message);
                    continue;
                }

                lost = kind switch
                {
                    Received.Closed => $"the runner closed the connection before the run ended ({_socket.CloseStatus}: {_socket.CloseStatusDescription})",
                    Received.TooBig => $"the runner sent a message over {_options.MaxMessageBytes} bytes",
                    _ => "the runner sent a message that is not protocol JSON",
                };
                break;
            }

            exitSeen = outcome is not null;
            if (exitSeen)
            {
                await FinishCloseAsync();
            }
        }
        catch (OperationCanceledException) when (_lifetime.IsCancellationRequested)
        {
            lost = "the connection was dropped";
        }
        catch (WebSocketException ex)
        {
            lost = $"the connection broke: {ex.Message}";
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
            lost = $"the connection failed: {ex.Message}";
        }
        finally
        {
            if (!exitSeen)
            {
                outcome = LostOutcome(lost);
                RunnerProtocolClientLog.ConnectionLost(_logger, Id, _runner, lost);
                _socket.Abort();
                await EmitAsync(new RunExited(outcome));
            }

            lock (_gate)
            {
                _inputClosed = true;
                _outbox.Writer.TryComplete();
            }

            _events.Writer.TryComplete();
            RunnerProtocolClientLog.RunEnded(_logger, Id, outcome!.Verdict);
            _completion.TrySetResult(outcome);
        }
    }

    /// <summary>Turns one message into its event; returns the outcome when it was <c>exit</c>.</summary>
    private async Task<RunOutcome?> HandleAsync(RunnerServerMessage message)
    {
        switch (message.Type)
        {
            case RunnerMessageTypes.CompileStarted:
                _stage = RunStage.Compile;
                await EmitAsync(new CompileStarted());
                break;
            case RunnerMessageTypes.CompileSuccess:
                _stage = RunStage.Compile;
                await EmitAsync(new CompileFinished(true, message.Data ?? message.Stdout ?? string.Empty, CompileResult(message, Verdict.Ok)));
                break;
            case RunnerMessageTypes.CompileError:
                _stage = RunStage.Compile;
                _compileFailed = true;
                await EmitAsync(new CompileFinished(false, message.Data ?? message.Stderr ?? string.Empty, CompileResult(message, Verdict.RuntimeError)));
                break;
            case RunnerMessageTypes.Started:
                _stage = RunStage.Run;
                await EmitAsync(new ProgramStarted());
                break;
            case RunnerMessageTypes.Stdout:
                await EmitAsync(new OutputChunk(OutputStream.Stdout, message.Data ?? string.Empty));
                break;
            case RunnerMessageTypes.Stderr:
                await EmitAsync(new OutputChunk(OutputStream.Stderr, message.Data ?? string.Empty));
                break;
            case RunnerMessageTypes.Echo:
                await EmitAsync(new InputEchoed(message.Data ?? string.Empty));
                break;
            case RunnerMessageTypes.Notice:
                await EmitAsync(new RunNotice(message.Data ?? string.Empty));
                break;
            case RunnerMessageTypes.Exit:
                var outcome = Outcome(message);
                await EmitAsync(new RunExited(outcome));
                return outcome;
            case RunnerMessageTypes.Error:
                // Refused controls (input after eof, say): a local session refuses those silently too.
                RunnerProtocolClientLog.RunnerError(_logger, Id, message.Error ?? string.Empty);
                break;
            default:
                RunnerProtocolClientLog.UnknownMessage(_logger, Id, message.Type.Length);
                break;
        }

        return null;
    }

    /// <summary>After <c>exit</c> the runner closes: answer its close frame, or drop a runner that does not send one.</summary>
    private async Task FinishCloseAsync()
    {
        _outbox.Writer.TryComplete();
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(_lifetime.Token);
        grace.CancelAfter(_options.StopGrace);
        try
        {
            // Our close frame must not race a send still in flight: a socket sends one frame at a time.
            await _sendLoop.WaitAsync(_options.StopGrace, _time);

            while (_socket.State == WebSocketState.Open)
            {
                var (kind, _) = await ReceiveAsync(_socket, _receiveBuffer, _options.MaxMessageBytes, grace.Token);
                if (kind is Received.TooBig or Received.Closed)
                {
                    break;
                }
            }

            if (_socket.State == WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "run over", grace.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException)
        {
            _socket.Abort();
        }
    }

    private async Task SendLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        try
        {
            await foreach (var message in _outbox.Reader.ReadAllAsync(_lifetime.Token))
            {
                await SendAsync(_socket, message, buffer, _lifetime.Token);
                if (message is { Type: RunnerMessageTypes.Input, Data: { } data })
                {
                    lock (_gate)
                    {
                        _pendingInputBytes -= Encoding.UTF8.GetByteCount(data);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // The connection is broken or being dropped: the receive loop ends the session and says why.
            _socket.Abort();
        }
    }

    private RunOutcome LostOutcome(string why)
    {
        (Verdict Verdict, string Message)? stop;
        lock (_gate)
        {
            stop = _stopRequest;
        }

        var elapsed = _time.GetElapsedTime(_startedAt);
        if (stop is { } asked)
        {
            // We asked for the end and the runner went quiet: the run is over as asked.
            return new RunOutcome(asked.Verdict, _stage, null, null, elapsed, TimeSpan.Zero, 0, asked.Message);
        }

        if (_compileFailed)
        {
            // A runner without the extensions ends a failed compile by closing, as the seed does.
            return new RunOutcome(Verdict.CompileError, RunStage.Compile, null, null, elapsed, TimeSpan.Zero, 0, "compilation failed");
        }

        return new RunOutcome(Verdict.InternalError, _stage, null, null, elapsed, TimeSpan.Zero, 0, $"internal error: lost the runner: {why}");
    }

    private static RunOutcome Outcome(RunnerServerMessage exit)
    {
        var returnCode = exit.ReturnCode ?? -1;
        var verdict = VerdictExtensions.TryParseWireName(exit.Verdict, out var parsed) ? parsed : returnCode == 0 ? Verdict.Ok : Verdict.RuntimeError;

        // Without the extensions return_code is all there is: 128 + n may be a signal, but only a signal field says so.
        var exitCode = exit.Stage is not null ? exit.ExitCode : exit.Signal is null && returnCode >= 0 ? returnCode : null;
        return new RunOutcome(
            verdict,
            exit.Stage == "compile" ? RunStage.Compile : RunStage.Run,
            exitCode,
            exit.Signal,
            TimeSpan.FromMilliseconds(exit.TimeMs ?? 0),
            TimeSpan.FromMilliseconds(exit.CpuMs ?? 0),
            exit.MemoryBytes ?? 0,
            exit.Message);
    }

    private static SandboxResult CompileResult(RunnerServerMessage message, Verdict fallback)
    {
        var verdict = VerdictExtensions.TryParseWireName(message.Verdict, out var parsed) ? parsed : fallback;
        var exitCode = message.ExitCode ?? (message.Verdict is null ? (fallback == Verdict.Ok ? 0 : null) : null);
        return new SandboxResult(
            exitCode,
            message.Signal,
            verdict,
            TimeSpan.FromMilliseconds(message.TimeMs ?? 0),
            TimeSpan.FromMilliseconds(message.CpuMs ?? 0),
            message.MemoryBytes ?? 0,
            message.Message);
    }

    private static RunnerClientMessage CodeMessage(RunRequest request)
    {
        var main = request.Files.Count > 0 ? request.Files[0] : null;
        return new RunnerClientMessage
        {
            Type = RunnerMessageTypes.Code,
            Language = request.Language,
            Filename = main is { Name.Length: > 0 } ? main.Name : null,
            Source = main?.Content ?? string.Empty,
            CompileCmd = request.CustomCompileCommand,
            Command = request.CustomRunCommand,
            Extensions = RunnerProtocolExtensions.Level,

            // One file travels in the seed's fields alone; more need the extension (and are sent whole, the first again).
            Files = request.Files.Count > 1 ? [.. request.Files.Select(f => new RunnerSourceFile(f.Name, f.Content))] : null,
        };
    }

    /// <summary>The exception a local host would throw for the runner's refusal of the <c>code</c> message.</summary>
    private static async Task<Exception> RefusalAsync(ClientWebSocket socket, RunnerServerMessage error, ArrayBufferWriter<byte> buffer, int maxMessageBytes, CancellationToken cancellationToken)
    {
        var text = error.Error ?? "the runner refused the run";
        if (RunnerProtocolExtensions.TryParseReason<RunRequestError>(error.Reason, out var invalid))
        {
            return new RunValidationException(invalid, text);
        }

        if (RunnerProtocolExtensions.TryParseReason<AdmissionRefusal>(error.Reason, out var refusal))
        {
            return new SessionRefusedException(refusal, text);
        }

        // A runner without the extensions names no reason: its close status says whether it is only full.
        try
        {
            while ((await ReceiveAsync(socket, buffer, maxMessageBytes, cancellationToken)).Kind == Received.Message)
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
        {
        }

        return socket.CloseStatus == RunnerConnection.TryAgainLater
            ? new SessionRefusedException(AdmissionRefusal.AtCapacity, text)
            : new RunnerUnavailableException($"the runner refused the run: {text}");
    }

    private async ValueTask EmitAsync(RunEvent runEvent)
    {
        var stamped = runEvent with { Elapsed = _time.GetElapsedTime(_startedAt) };
        try
        {
            await _events.Writer.WriteAsync(stamped, _abandoned.Token);
        }
        catch (OperationCanceledException)
        {
            // Nobody reads any more (the session is being disposed): the event is dropped.
        }
        catch (ChannelClosedException)
        {
        }
    }

    private static async Task SendAsync(WebSocket socket, RunnerClientMessage message, ArrayBufferWriter<byte> buffer, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = RunnerProtocolJsonContext.Wire.Options.Encoder }))
        {
            JsonSerializer.Serialize(writer, message, RunnerProtocolJsonContext.Wire.RunnerClientMessage);
        }

        await socket.SendAsync(buffer.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
    }

    /// <summary>One whole message, never buffering more than <paramref name="maxMessageBytes"/>.</summary>
    private static async Task<(Received Kind, RunnerServerMessage? Message)> ReceiveAsync(WebSocket socket, ArrayBufferWriter<byte> buffer, int maxMessageBytes, CancellationToken cancellationToken)
    {
        buffer.ResetWrittenCount();
        ValueWebSocketReceiveResult segment;
        do
        {
            var room = maxMessageBytes - buffer.WrittenCount;
            var memory = buffer.GetMemory(Math.Min(ReceiveChunkBytes, room + 1));
            segment = await socket.ReceiveAsync(memory[..Math.Min(memory.Length, room + 1)], cancellationToken);
            if (segment.MessageType == WebSocketMessageType.Close)
            {
                return (Received.Closed, null);
            }

            buffer.Advance(segment.Count);
            if (buffer.WrittenCount > maxMessageBytes)
            {
                return (Received.TooBig, null);
            }
        }
        while (!segment.EndOfMessage);

        if (segment.MessageType != WebSocketMessageType.Text)
        {
            return (Received.Malformed, null);
        }

        try
        {
            var message = JsonSerializer.Deserialize(buffer.WrittenSpan, RunnerProtocolJsonContext.Wire.RunnerServerMessage);
            return message is null ? (Received.Malformed, null) : (Received.Message, message);
        }
        catch (JsonException)
        {
            return (Received.Malformed, null);
        }
    }
}

/// <summary>A runner could not be reached, or broke the protocol before it accepted the run. The message says which.</summary>
public sealed class RunnerUnavailableException(string message, Exception? innerException = null) : IOException(message, innerException);
