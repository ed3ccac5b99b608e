using System.Buffers;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace IrisIde.Tests.Protocol;

/// <summary>A seed-like client: raw JSON text over a <see cref="ClientWebSocket"/>, every wait bounded.</summary>
public sealed class RunnerTestClient : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>How long one receive waits: a little under <see cref="Timeout"/>, so a silent server is described.</summary>
    private static readonly TimeSpan QuietLimit = Timeout - TimeSpan.FromSeconds(5);

    private readonly ClientWebSocket _socket;
    private readonly List<JsonElement> _received = [];

    private RunnerTestClient(ClientWebSocket socket) => _socket = socket;

    public WebSocket Socket => _socket;

    /// <summary>Every message received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Received => _received;

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public string? CloseDescription => _socket.CloseStatusDescription;

    public static async Task<RunnerTestClient> ConnectAsync(Uri uri, IReadOnlyDictionary<string, string>? headers = null)
    {
        var socket = new ClientWebSocket();
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            socket.Options.SetRequestHeader(name, value);
        }

        await socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(Timeout);
        return new RunnerTestClient(socket);
    }

    public Task SendCodeAsync(string language, string source, string? filename = null, string? compileCmd = null, string? command = null)
    {
        var message = new JsonObject { ["type"] = "code", ["language"] = language, ["source"] = source };
        if (filename is not null)
        {
            message["filename"] = filename;
        }

        if (compileCmd is not null)
        {
            message["compile_cmd"] = compileCmd;
        }

        if (command is not null)
        {
            message["command"] = command;
        }

        return SendAsync(message);
    }

    public Task SendInputAsync(string data) => SendAsync(new JsonObject { ["type"] = "input", ["data"] = data });

    public Task SendAsync(JsonObject message) => SendTextAsync(message.ToJsonString());

    public Task SendTextAsync(string text) => SendBytesAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public async Task SendBytesAsync(byte[] bytes, WebSocketMessageType type)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _socket.SendAsync(bytes, type, endOfMessage: true, timeout.Token);
    }

    /// <summary>
    /// The next message, or null when the server closed the connection. A message that does not come within
    /// <see cref="QuietLimit"/> fails the test with what did come, before a caller's own <see cref="Timeout"/> would
    /// say only that time ran out.
    /// </summary>
    public async Task<JsonElement?> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(QuietLimit);
        var buffer = new ArrayBufferWriter<byte>();
        while (true)
        {
            ValueWebSocketReceiveResult result;
            try
            {
                result = await _socket.ReceiveAsync(buffer.GetMemory(16 * 1024), timeout.Token);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                throw new Xunit.Sdk.XunitException($"no message for {QuietLimit.TotalSeconds:0} s; got: {Describe()}");
            }

            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }

                return null;
            }

            buffer.Advance(result.Count);
            if (result.EndOfMessage)
            {
                var element = JsonDocument.Parse(buffer.WrittenMemory).RootElement.Clone();
                _received.Add(element);
                return element;
            }
        }
    }

    /// <summary>Reads until a message of <paramref name="type"/> arrives; fails if the connection closes first.</summary>
    public async Task<JsonElement> ReceiveUntilAsync(string type)
    {
        while (true)
        {
            var message = await ReceiveAsync() ?? throw new Xunit.Sdk.XunitException($"closed before a '{type}' message; got: {Describe()}");
            if (message.GetProperty("type").GetString() == type)
            {
                return message;
            }
        }
    }

    /// <summary>Reads until stdout (all chunks so far) contains <paramref name="text"/>.</summary>
    public async Task WaitForStdoutAsync(string text)
    {
        while (!Text("stdout").Contains(text, StringComparison.Ordinal))
        {
            _ = await ReceiveAsync() ?? throw new Xunit.Sdk.XunitException($"closed before stdout showed '{text}'; got: {Describe()}");
        }
    }

    /// <summary>Reads every message until the server closes.</summary>
    public async Task<IReadOnlyList<JsonElement>> ReadToEndAsync()
    {
        while (await ReceiveAsync() is not null)
        {
        }

        return _received;
    }

    public IEnumerable<JsonElement> OfType(string type) => _received.Where(m => m.GetProperty("type").GetString() == type);

    /// <summary>The <c>data</c> of every message of <paramref name="type"/>, concatenated.</summary>
    public string Text(string type) => string.Concat(OfType(type).Select(m => m.TryGetProperty("data", out var d) ? d.GetString() : string.Empty));

    public JsonElement One(string type)
    {
        var matches = OfType(type).ToList();
        return matches.Count == 1 ? matches[0] : throw new Xunit.Sdk.XunitException($"expected one '{type}' message, got {matches.Count}: {Describe()}");
    }

    public string Describe() => string.Join(" ", _received.Select(m => m.GetRawText()));

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }

        _socket.Dispose();
    }
}
