using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// The server's side of one iris-runner WebSocket: whole-message receives under a size cap, serialised
/// sends, and the close handshake. <see cref="RunnerConnection"/> holds the protocol's state on top.
/// </summary>
/// <remarks>
/// Sends are serialised by <see cref="_sendLock"/>; at most one receive is ever pending (the
/// connection's receive loop). Every way to end goes through <see cref="CloseAsync"/>: it sends our
/// close frame once and arms <see cref="Lifetime"/> to cancel after a grace period, which aborts a
/// receive still waiting for the client's close frame. Nothing is sent after our close frame.
/// </remarks>
internal sealed class RunnerSocket : IDisposable
{
    private const int ReceiveChunkBytes = 16 * 1024;
    private const int MaxCloseDescriptionBytes = 120;

    // A writer's own options decide escaping, not the serializer's: keep non-ASCII as UTF-8 here too.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = RunnerProtocolJsonContext.Wire.Options.Encoder };

    private readonly WebSocket _socket;
    private readonly RunnerProtocolOptions _options;
    private readonly ILogger _logger;
    private readonly Guid _connectionId;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _sendBuffer = new(4096);
    private readonly CancellationTokenSource _lifetime;
    private bool _closeSent;

    public RunnerSocket(WebSocket socket, RunnerProtocolOptions options, ILogger logger, Guid connectionId, CancellationToken cancellationToken)
    {
        _socket = socket;
        _options = options;
        _logger = logger;
        _connectionId = connectionId;
        _lifetime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
    }

    /// <summary>Cancelled when the host stops, when the connection is torn down, or a grace period after our close frame.</summary>
    public CancellationToken Lifetime => _lifetime.Token;

    /// <summary>True once our close frame is sent (or the client's was answered): only a close frame matters after that.</summary>
    public bool IsClosing => Volatile.Read(ref _closeSent);

    /// <summary>
    /// Reads one whole message into <paramref name="buffer"/>, buffering at most the configured maximum.
    /// A bigger message is reported as too big as soon as it crosses the limit; its remaining fragments
    /// are read (and dropped) by later calls while the connection closes.
    /// </summary>
    public async Task<(WebSocketMessageType Type, bool TooBig)> ReceiveMessageAsync(ArrayBufferWriter<byte> buffer)
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

    /// <summary>Sends one message, unless our close frame has gone out.</summary>
    public async Task SendAsync(RunnerServerMessage message)
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

    /// <summary>Sends our close frame once, then gives the client a grace period to answer it.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason)
    {
        await _sendLock.WaitAsync(_lifetime.Token);
        try
        {
            if (_closeSent)
            {
                return;
            }

            Volatile.Write(ref _closeSent, true);
            RunnerProtocolLog.ClosedByServer(_logger, _connectionId, status, reason);
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

    /// <summary>The client sent its close frame: answer it unless ours already went out.</summary>
    public async Task AnswerClientCloseAsync()
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

    /// <summary>Stops whatever still waits on the socket (the receive loop, a blocked send).</summary>
    public Task CancelAsync() => _lifetime.CancelAsync();

    public void Dispose()
    {
        _lifetime.Dispose();
        _sendLock.Dispose();
    }

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
}
