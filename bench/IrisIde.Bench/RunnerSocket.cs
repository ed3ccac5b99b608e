using System.Net.WebSockets;
using System.Text.Json;

namespace IrisIde.Bench;

/// <summary>The iris-runner protocol's client side as the benchmarks use it: start a program, read whole messages.</summary>
internal static class RunnerSocket
{
    /// <summary>Connects to <c>/ws</c> and sends a <c>code</c> message running <paramref name="source"/> in python.</summary>
    public static async Task<ClientWebSocket> StartPythonAsync(int port, string source, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        try
        {
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), cancellationToken);
            var code = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["type"] = "code", ["language"] = "python", ["source"] = source });
            await socket.SendAsync(code, WebSocketMessageType.Text, true, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The next whole message (however many frames it came in), or null once the server closed.</summary>
    public static async Task<JsonDocument?> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer, cancellationToken);
            if (received.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            await message.WriteAsync(buffer.AsMemory(0, received.Count), cancellationToken);
            if (received.EndOfMessage)
            {
                return JsonDocument.Parse(message.ToArray());
            }
        }
    }
}
