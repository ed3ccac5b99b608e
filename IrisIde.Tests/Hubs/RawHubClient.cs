using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace IrisIde.Tests.Hubs;

/// <summary>
/// A SignalR client on a raw <see cref="ClientWebSocket"/>, only for tests that need a client misbehaving
/// in ways the .NET SignalR client never does: dropping its socket without a close handshake, or going
/// silent (no pings) while the socket stays open. Everything else uses the real client (<see cref="HubRun"/>).
/// JSON hub protocol, WebSockets only, negotiation skipped: records are JSON objects ended by 0x1E; type
/// 2 StreamItem, 3 Completion, 4 StreamInvocation, 6 Ping, 7 Close. Every wait is bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class RawHubClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const byte RecordSeparator = 0x1E;
    private static readonly JsonSerializerOptions ArgumentOptions = new(JsonSerializerDefaults.Web);

    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Channel<JsonElement>> _streams = new();
    private readonly TaskCompletionSource<string?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiveLoop = Task.CompletedTask;
    private Task _pingLoop = Task.CompletedTask;
    private int _nextInvocationId;

    private RawHubClient(ClientWebSocket socket) => _socket = socket;

    /// <summary>Completes when the connection ends, with the server's close error if it sent one.</summary>
    public Task<string?> Closed => _closed.Task;

    /// <summary>
    /// Connects to the execution hub of the app at <paramref name="baseAddress"/> and completes the handshake;
    /// pings every 2 s like a browser client until <see cref="GoSilentAsync"/>.
    /// </summary>
    public static async Task<RawHubClient> ConnectAsync(Uri baseAddress)
    {
        var socket = new ClientWebSocket();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await socket.ConnectAsync(new Uri($"ws://{baseAddress.Authority}/hubs/execution"), timeout.Token);
            await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, timeout.Token);
            var client = new RawHubClient(socket);
            var handshake = new ArrayBufferWriter<byte>();
            var rest = await client.ReadRecordAsync(handshake, timeout.Token);
            using var response = JsonDocument.Parse(handshake.WrittenMemory);
            if (response.RootElement.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException($"handshake refused: {error.GetString()}");
            }

            client._receiveLoop = Task.Run(() => client.ReceiveLoopAsync(rest), CancellationToken.None);
            client._pingLoop = Task.Run(() => client.PingLoopAsync(TimeSpan.FromSeconds(2)), CancellationToken.None);

            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts a run (a StreamInvocation of <c>StartRun</c> with one source file of the default name).</summary>
    public async Task<RawHubStream> StartRunAsync(string language, string source)
    {
        var id = Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);
        var channel = Channel.CreateUnbounded<JsonElement>();
        _streams[id] = channel;
        var request = new { language, files = new[] { new { name = string.Empty, content = source } } };
        await SendRecordAsync(new JsonObject
        {
            ["type"] = 4,
            ["invocationId"] = id,
            ["target"] = "StartRun",
            ["arguments"] = new JsonArray(JsonSerializer.SerializeToNode(request, ArgumentOptions)),
        });
        return new RawHubStream(channel.Reader);
    }

    /// <summary>Drops the connection without a close handshake (a killed tab).</summary>
    public void Abort()
    {
        _stopping.Cancel();
        _socket.Abort();
    }

    /// <summary>
    /// Sends one ping now. SignalR's server only enforces its client timeout once a connection has sent
    /// a ping (clients that never ping are not timed out), which browser clients do every keep-alive interval.
    /// </summary>
    public Task PingAsync() => SendRecordAsync(new JsonObject { ["type"] = 6 });

    /// <summary>Stops pinging and sending anything, while still reading (a network that silently died).</summary>
    public async Task GoSilentAsync()
    {
        await _stopping.CancelAsync();
        await _pingLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or TimeoutException)
            {
            }
        }

        _socket.Abort();
        await _receiveLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _pingLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _socket.Dispose();
        _sendLock.Dispose();
        _stopping.Dispose();
    }

    private async Task SendRecordAsync(JsonObject record)
    {
        var bytes = Encoding.UTF8.GetBytes(record.ToJsonString() + "\u001e");
        using var timeout = new CancellationTokenSource(Timeout);
        await _sendLock.WaitAsync(timeout.Token);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, timeout.Token);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task PingLoopAsync(TimeSpan interval)
    {
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                await Task.Delay(interval, _stopping.Token);
                await SendRecordAsync(new JsonObject { ["type"] = 6 });
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>Reads one record into <paramref name="record"/>; returns bytes read past its separator.</summary>
    private async Task<byte[]> ReadRecordAsync(ArrayBufferWriter<byte> record, CancellationToken cancellationToken)
    {
        var buffer = new byte[4096];
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("the server closed the connection during the handshake");
            }

            var separator = Array.IndexOf(buffer, RecordSeparator, 0, result.Count);
            if (separator >= 0)
            {
                record.Write(buffer.AsSpan(0, separator));
                return buffer[(separator + 1)..result.Count];
            }

            record.Write(buffer.AsSpan(0, result.Count));
        }
    }

    private async Task ReceiveLoopAsync(byte[] leftover)
    {
        string? closeError = null;
        var pending = new ArrayBufferWriter<byte>();
        pending.Write(leftover);
        try
        {
            DispatchRecords(pending);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                pending.Write(buffer.AsSpan(0, result.Count));
                if (DispatchRecords(pending) is { } error)
                {
                    closeError = error;
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            foreach (var stream in _streams.Values)
            {
                stream.Writer.TryComplete();
            }

            _closed.TrySetResult(closeError);
        }
    }

    /// <summary>Handles every complete record in <paramref name="pending"/>; returns a Close record's error.</summary>
    private string? DispatchRecords(ArrayBufferWriter<byte> pending)
    {
        string? closeError = null;
        var data = pending.WrittenMemory;
        var consumed = 0;
        while (true)
        {
            var separator = data.Span[consumed..].IndexOf(RecordSeparator);
            if (separator < 0)
            {
                break;
            }

            using (var document = JsonDocument.Parse(data.Slice(consumed, separator)))
            {
                closeError ??= Dispatch(document.RootElement);
            }

            consumed += separator + 1;
        }

        var rest = data[consumed..].ToArray();
        pending.ResetWrittenCount();
        pending.Write(rest);
        return closeError;
    }

    private string? Dispatch(JsonElement record)
    {
        var type = record.GetProperty("type").GetInt32();
        var id = record.TryGetProperty("invocationId", out var idElement) ? idElement.GetString() : null;
        switch (type)
        {
            case 2 when id is not null && _streams.TryGetValue(id, out var stream):
                stream.Writer.TryWrite(record.GetProperty("item").Clone());
                break;
            case 3 when id is not null && _streams.TryRemove(id, out var finished):
                finished.Writer.TryComplete();
                break;
            case 7:
                return record.TryGetProperty("error", out var close) ? close.GetString() ?? "closed" : "closed";
        }

        return null;
    }
}

/// <summary>The items of one <c>StartRun</c> stream of a <see cref="RawHubClient"/>.</summary>
public sealed class RawHubStream(ChannelReader<JsonElement> items)
{
    private readonly List<JsonElement> _received = [];

    /// <summary>Reads until the text of <paramref name="type"/> events so far contains <paramref name="text"/>.</summary>
    public async Task WaitForTextAsync(string type, string text)
    {
        while (!Text(type).Contains(text, StringComparison.Ordinal))
        {
            using var timeout = new CancellationTokenSource(RawHubClient.Timeout);
            if (!await items.WaitToReadAsync(timeout.Token))
            {
                throw new InvalidOperationException($"stream ended before {type} showed '{text}'; got: {string.Join(" ", _received.Select(e => e.GetRawText()))}");
            }

            _received.Add(await items.ReadAsync(timeout.Token));
        }
    }

    private string Text(string type) =>
        string.Concat(_received.Where(e => e.GetProperty("type").GetString() == type).Select(e => e.TryGetProperty("data", out var d) ? d.GetString() : string.Empty));
}
