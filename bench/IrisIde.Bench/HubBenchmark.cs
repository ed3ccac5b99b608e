using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace IrisIde.Bench;

/// <summary>
/// Input round trips through the execution hub (the .NET SignalR client, JSON over a WebSocket), against the same
/// round trips over <c>/ws</c> on the same server in the same run — same pipeline, same sandboxed
/// program — so the ratio is what the hub's protocol and streaming add.
/// </summary>
internal sealed class HubBenchmark(BenchOptions options)
{
    private const string EchoProgram = "while True:\n    print(input())\n";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private int Samples => Math.Max(100, options.Runs * 5);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var web = await WebAppProcess.StartAsync(cancellationToken);
        var ws = await MeasureAsync(new RunnerSocket(), web.Port, Samples, cancellationToken);
        var hub = await MeasureAsync(new HubSocket(), web.Port, Samples, cancellationToken);

        Console.WriteLine();
        Console.WriteLine($"4. input round trips through the execution hub vs /ws, python `while True: print(input())`, {Samples} samples each");
        Console.WriteLine($"   keystroke → echo   /ws {ws.Echo}");
        Console.WriteLine($"                      hub {hub.Echo}");
        Console.WriteLine(hub.Echo.RatioTo(ws.Echo, "   hub / ws"));
        Console.WriteLine($"   line → stdout      /ws {ws.Line}");
        Console.WriteLine($"                      hub {hub.Line}");
        Console.WriteLine(hub.Line.RatioTo(ws.Line, "   hub / ws"));
    }

    /// <summary>Input line → the program's output of it through the execution hub, on a web app already running.</summary>
    internal static async Task<Percentiles> HubLineRoundTripAsync(int port, int samples, CancellationToken cancellationToken) =>
        (await MeasureAsync(new HubSocket(), port, samples, cancellationToken)).Line;

    private static async Task<(Percentiles Echo, Percentiles Line)> MeasureAsync(IInteractiveClient client, int port, int samples, CancellationToken cancellationToken)
    {
        await using var _ = client;
        await client.StartAsync(port, cancellationToken);

        // Warm up (JIT on both ends, the program's first input()).
        for (var i = 0; i < 10; i++)
        {
            await RoundTripAsync(client, $"warm{i}", cancellationToken);
        }

        var echo = new List<double>(samples);
        var line = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var (e, l) = await RoundTripAsync(client, $"s{i}", cancellationToken);
            echo.Add(e);
            line.Add(l);
        }

        return (Percentiles.Of(echo), Percentiles.Of(line));
    }

    /// <summary>One key (timed to its echo), Enter, then a whole line (timed to the program's output of it).</summary>
    private static async Task<(double EchoMs, double LineMs)> RoundTripAsync(IInteractiveClient client, string tag, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await client.SendInputAsync("k", cancellationToken);
        await client.WaitForAsync("echo", "k", cancellationToken);
        var echo = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        await client.SendInputAsync("\n", cancellationToken);
        await client.WaitForAsync("stdout", "k\n", cancellationToken);

        started = Stopwatch.GetTimestamp();
        await client.SendInputAsync($"{tag}\n", cancellationToken);
        await client.WaitForAsync("stdout", $"{tag}\n", cancellationToken);
        return (echo, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }

    private interface IInteractiveClient : IAsyncDisposable
    {
        Task StartAsync(int port, CancellationToken cancellationToken);

        Task SendInputAsync(string text, CancellationToken cancellationToken);

        /// <summary>Reads events until the text of <paramref name="type"/> events since the last match ends with <paramref name="text"/>.</summary>
        Task WaitForAsync(string type, string text, CancellationToken cancellationToken);
    }

    /// <summary>The iris-runner protocol: one run per WebSocket, JSON text messages.</summary>
    private sealed class RunnerSocket : IInteractiveClient
    {
        private readonly ClientWebSocket _socket = new();
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly Dictionary<string, StringBuilder> _text = new(StringComparer.Ordinal);

        public async Task StartAsync(int port, CancellationToken cancellationToken)
        {
            using var timeout = Bounded(cancellationToken);
            await _socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token);
            await SendAsync(new Dictionary<string, string> { ["type"] = "code", ["language"] = "python", ["source"] = EchoProgram }, timeout.Token);
        }

        public async Task SendInputAsync(string text, CancellationToken cancellationToken)
        {
            using var timeout = Bounded(cancellationToken);
            await SendAsync(new Dictionary<string, string> { ["type"] = "input", ["data"] = text }, timeout.Token);
        }

        public async Task WaitForAsync(string type, string text, CancellationToken cancellationToken)
        {
            using var timeout = Bounded(cancellationToken);
            while (!Consume(_text, type, text))
            {
                var received = await _socket.ReceiveAsync(_buffer, timeout.Token);
                if (received.MessageType == WebSocketMessageType.Close || !received.EndOfMessage)
                {
                    throw new InvalidOperationException("/ws closed or sent an unexpectedly large message during the benchmark");
                }

                using var message = JsonDocument.Parse(_buffer.AsMemory(0, received.Count));
                var root = message.RootElement;
                if (root.TryGetProperty("data", out var data))
                {
                    Append(_text, root.GetProperty("type").GetString()!, data.GetString()!);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _socket.Abort();
            _socket.Dispose();
            await Task.CompletedTask;
        }

        private Task SendAsync(Dictionary<string, string> message, CancellationToken cancellationToken) =>
            _socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, cancellationToken);
    }

    /// <summary>
    /// The execution hub through the .NET SignalR client: StartRun's stream, SendInput without waiting for its
    /// completion (<c>SendAsync</c>, like the JS client's <c>send</c>).
    /// </summary>
    private sealed class HubSocket : IInteractiveClient
    {
        private readonly Dictionary<string, StringBuilder> _text = new(StringComparer.Ordinal);
        private readonly CancellationTokenSource _stopRun = new();
        private HubConnection? _connection;
        private IAsyncEnumerator<JsonElement>? _run;
        private string _runId = string.Empty;

        public async Task StartAsync(int port, CancellationToken cancellationToken)
        {
            using var timeout = Bounded(cancellationToken);
            _connection = new HubConnectionBuilder()
                .WithUrl($"http://127.0.0.1:{port}/hubs/execution", HttpTransportType.WebSockets, o => o.SkipNegotiation = true)
                .Build();
            // Like the page's client: the server closes a connection silent for longer than its client timeout.
            _connection.KeepAliveInterval = TimeSpan.FromSeconds(2);
            await _connection.StartAsync(timeout.Token);
            var request = new { language = "python", files = new[] { new { name = "main.py", content = EchoProgram } } };
            _run = _connection.StreamAsync<JsonElement>("StartRun", request, _stopRun.Token).GetAsyncEnumerator(_stopRun.Token);
            var started = await NextAsync(cancellationToken) ?? throw new InvalidOperationException("the hub ended the run at once");
            _runId = started.TryGetProperty("runId", out var id) ? id.GetString()! : throw new InvalidOperationException($"the hub refused the run: {started}");
        }

        public async Task SendInputAsync(string text, CancellationToken cancellationToken)
        {
            using var timeout = Bounded(cancellationToken);
            await _connection!.SendAsync("SendInput", _runId, text, timeout.Token);
        }

        public async Task WaitForAsync(string type, string text, CancellationToken cancellationToken)
        {
            while (!Consume(_text, type, text))
            {
                var item = await NextAsync(cancellationToken) ?? throw new InvalidOperationException("the run ended during the benchmark");
                if (item.TryGetProperty("data", out var data))
                {
                    Append(_text, item.GetProperty("type").GetString()!, data.GetString()!);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stopRun.CancelAsync();
            if (_run is not null)
            {
                await _run.DisposeAsync().AsTask().ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (_connection is not null)
            {
                await _connection.DisposeAsync();
            }

            _stopRun.Dispose();
        }

        private async Task<JsonElement?> NextAsync(CancellationToken cancellationToken) =>
            await _run!.MoveNextAsync().AsTask().WaitAsync(Timeout, cancellationToken) ? _run.Current : null;
    }

    private static CancellationTokenSource Bounded(CancellationToken cancellationToken)
    {
        var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        return timeout;
    }

    private static void Append(Dictionary<string, StringBuilder> text, string type, string data)
    {
        if (!text.TryGetValue(type, out var builder))
        {
            text[type] = builder = new StringBuilder();
        }

        builder.Append(data);
    }

    /// <summary>True (and the text is consumed) once the events of <paramref name="type"/> so far end with <paramref name="expected"/>.</summary>
    private static bool Consume(Dictionary<string, StringBuilder> text, string type, string expected)
    {
        if (!text.TryGetValue(type, out var builder) || !builder.ToString().EndsWith(expected, StringComparison.Ordinal))
        {
            return false;
        }

        builder.Clear();
        return true;
    }

    /// <summary>p50 and p99 of a sample, in milliseconds.</summary>
    internal sealed record Percentiles(double P50, double P99, int Count)
    {
        public static Percentiles Of(IReadOnlyCollection<double> samples)
        {
            var sorted = samples.Order().ToArray();
            return new Percentiles(At(sorted, 0.50), At(sorted, 0.99), sorted.Length);
        }

        public string RatioTo(Percentiles baseline, string label) =>
            string.Create(CultureInfo.InvariantCulture, $"{label}: p50 {P50 / baseline.P50:0.00}x   p99 {P99 / baseline.P99:0.00}x");

        public override string ToString() =>
            string.Create(CultureInfo.InvariantCulture, $"p50 {P50,7:0.00} ms   p99 {P99,7:0.00} ms   (n={Count})");

        private static double At(double[] sorted, double p)
        {
            var rank = p * (sorted.Length - 1);
            var low = (int)Math.Floor(rank);
            var high = (int)Math.Ceiling(rank);
            return sorted[low] + ((sorted[high] - sorted[low]) * (rank - low));
        }
    }
}
