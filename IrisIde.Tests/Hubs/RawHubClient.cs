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
/// A minimal SignalR client speaking the JSON hub protocol over a <see cref="ClientWebSocket"/> (the .NET
/// SignalR client package is not available here). WebSockets only, negotiation skipped: records are
/// JSON objects ended by 0x1E; type 1 Invocation, 2 StreamItem, 3 Completion, 4 StreamInvocation,
/// 5 CancelInvocation, 6 Ping, 7 Close. Shared with the benchmark (linked into bench/IrisIde.Bench), so
/// it has no test-framework dependency; every wait is bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class SignalRJsonClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const byte RecordSeparator = 0x1E;
    private static readonly JsonSerializerOptions ArgumentOptions = new(JsonSerializerDefaults.Web);

    private readonly ClientWebSocket _socket;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Channel<JsonElement>> _streams = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource<JsonElement?>> _invocations = new();
    private readonly ConcurrentDictionary<string, string?> _streamErrors = new();
    private readonly TaskCompletionSource<string?> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _receiveLoop = Task.CompletedTask;
    private Task _pingLoop = Task.CompletedTask;
    private int _nextInvocationId;

    private SignalRJsonClient(ClientWebSocket socket) => _socket = socket;

    public WebSocket Socket => _socket;

    /// <summary>Completes when the connection ends, with the server's close error if it sent one.</summary>
    public Task<string?> Closed => _closed.Task;

    /// <summary>
    /// Connects to <paramref name="hubUri"/> (<c>ws://host/hubs/execution</c>) and completes the handshake.
    /// Pings every <paramref name="pingInterval"/> (default 2 s) like a browser client; pass
    /// <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> to go silent (a dropped network).
    /// </summary>
    public static async Task<SignalRJsonClient> ConnectAsync(Uri hubUri, TimeSpan? pingInterval = null, CancellationToken cancellationToken = default)
    {
        var socket = new ClientWebSocket();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            await socket.ConnectAsync(hubUri, timeout.Token);
            await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, timeout.Token);
            var client = new SignalRJsonClient(socket);
            var handshake = new ArrayBufferWriter<byte>();
            var rest = await client.ReadRecordAsync(handshake, timeout.Token);
            using var response = JsonDocument.Parse(handshake.WrittenMemory);
            if (response.RootElement.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException($"handshake refused: {error.GetString()}");
            }

            client._receiveLoop = Task.Run(() => client.ReceiveLoopAsync(rest), CancellationToken.None);
            var interval = pingInterval ?? TimeSpan.FromSeconds(2);
            if (interval != System.Threading.Timeout.InfiniteTimeSpan)
            {
                client._pingLoop = Task.Run(() => client.PingLoopAsync(interval), CancellationToken.None);
            }

            return client;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Starts a server-to-client stream (StreamInvocation).</summary>
    public async Task<HubStream> StreamAsync(string target, params object?[] arguments)
    {
        var id = NextId();
        var channel = Channel.CreateUnbounded<JsonElement>();
        _streams[id] = channel;
        await SendRecordAsync(Record(4, id, target, arguments));
        return new HubStream(this, id, channel.Reader);
    }

    /// <summary>Invokes a hub method and waits for its completion; a hub error becomes <see cref="HubInvocationException"/>.</summary>
    public async Task<JsonElement?> InvokeAsync(string target, params object?[] arguments)
    {
        var id = NextId();
        var completion = new TaskCompletionSource<JsonElement?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invocations[id] = completion;
        await SendRecordAsync(Record(1, id, target, arguments));
        return await completion.Task.WaitAsync(Timeout);
    }

    /// <summary>Invokes a hub method without waiting for it (no invocation id, like the JS client's <c>send</c>).</summary>
    public Task SendAsync(string target, params object?[] arguments) => SendRecordAsync(Record(1, null, target, arguments));

    public Task CancelStreamAsync(string invocationId) =>
        SendRecordAsync(new JsonObject { ["type"] = 5, ["invocationId"] = invocationId });

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

    internal string? StreamError(string invocationId) => _streamErrors.GetValueOrDefault(invocationId);

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

    private string NextId() => Interlocked.Increment(ref _nextInvocationId).ToString(CultureInfo.InvariantCulture);

    private static JsonObject Record(int type, string? invocationId, string target, object?[] arguments)
    {
        var record = new JsonObject { ["type"] = type };
        if (invocationId is not null)
        {
            record["invocationId"] = invocationId;
        }

        record["target"] = target;
        record["arguments"] = new JsonArray([.. arguments.Select(a => JsonSerializer.SerializeToNode(a, ArgumentOptions))]);
        return record;
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
            foreach (var (id, stream) in _streams)
            {
                _streamErrors.TryAdd(id, "connection closed");
                stream.Writer.TryComplete();
            }

            foreach (var invocation in _invocations.Values)
            {
                invocation.TrySetException(new HubInvocationException("connection closed"));
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
                _streamErrors[id] = record.TryGetProperty("error", out var streamError) ? streamError.GetString() : null;
                finished.Writer.TryComplete();
                break;
            case 3 when id is not null && _invocations.TryRemove(id, out var invocation):
                if (record.TryGetProperty("error", out var error))
                {
                    invocation.TrySetException(new HubInvocationException(error.GetString() ?? "error"));
                }
                else
                {
                    invocation.TrySetResult(record.TryGetProperty("result", out var result) ? result.Clone() : null);
                }

                break;
            case 7:
                return record.TryGetProperty("error", out var close) ? close.GetString() ?? "closed" : "closed";
        }

        return null;
    }
}

/// <summary>The items of one server-to-client stream.</summary>
public sealed class HubStream(SignalRJsonClient client, string invocationId, ChannelReader<JsonElement> items)
{
    private readonly List<JsonElement> _received = [];

    public string InvocationId => invocationId;

    /// <summary>Every item received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Received => _received;

    /// <summary>The error of the stream's completion, if any (after it ended).</summary>
    public string? Error => client.StreamError(invocationId);

    /// <summary>The next item, or null when the stream completed.</summary>
    public async Task<JsonElement?> NextAsync()
    {
        using var timeout = new CancellationTokenSource(SignalRJsonClient.Timeout);
        if (!await items.WaitToReadAsync(timeout.Token))
        {
            return null;
        }

        var item = await items.ReadAsync(timeout.Token);
        _received.Add(item);
        return item;
    }

    /// <summary>Reads until an item with <c>type</c> == <paramref name="type"/>; throws if the stream ends first.</summary>
    public async Task<JsonElement> NextOfTypeAsync(string type)
    {
        while (true)
        {
            var item = await NextAsync() ?? throw new InvalidOperationException($"stream ended before a '{type}' event; got: {Describe()}");
            if (item.GetProperty("type").GetString() == type)
            {
                return item;
            }
        }
    }

    /// <summary>Reads until the text of <paramref name="type"/> events so far contains <paramref name="text"/>.</summary>
    public async Task WaitForTextAsync(string type, string text)
    {
        while (!Text(type).Contains(text, StringComparison.Ordinal))
        {
            _ = await NextAsync() ?? throw new InvalidOperationException($"stream ended before {type} showed '{text}'; got: {Describe()}");
        }
    }

    /// <summary>Reads every item until the stream completes.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReadToEndAsync()
    {
        while (await NextAsync() is not null)
        {
        }

        return _received;
    }

    public IEnumerable<JsonElement> OfType(string type) => _received.Where(e => e.GetProperty("type").GetString() == type);

    /// <summary>The <c>data</c> of every event of <paramref name="type"/>, concatenated.</summary>
    public string Text(string type) =>
        string.Concat(OfType(type).Select(e => e.TryGetProperty("data", out var d) ? d.GetString() : string.Empty));

    public JsonElement One(string type)
    {
        var matches = OfType(type).ToList();
        return matches.Count == 1 ? matches[0] : throw new InvalidOperationException($"expected one '{type}' event, got {matches.Count}: {Describe()}");
    }

    public string RunId => One("started").GetProperty("runId").GetString()!;

    public string Describe() => string.Join(" ", _received.Select(e => e.GetRawText()));
}

/// <summary>A hub method completed with an error (HubException's message, or a generic one).</summary>
public sealed class HubInvocationException(string message) : Exception(message);
