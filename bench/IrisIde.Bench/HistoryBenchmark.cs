using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;

namespace IrisIde.Bench;

/// <summary>
/// What recording every interactive run (the run history) costs the student at the terminal: the <c>/ws</c>
/// first byte and the hub's line round trip with recording on, against the same server with it off
/// (<c>Iris:History:Enabled=false</c>) measured before and after; and how many transcript chunks per second
/// the store keeps up with while sessions print as fast as a terminal shows.
/// </summary>
internal sealed class HistoryBenchmark(BenchOptions options)
{
    /// <summary>Sessions printing at once for the store figure.</summary>
    private const int Printers = 8;

    /// <summary>Lines each printer writes, one write (one chunk, at most) every millisecond.</summary>
    private const int LinesPerPrinter = 1500;

    private const string AdminEmail = "bench-admin@iris.invalid";
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromMinutes(3);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private int Samples => Math.Max(50, options.Runs);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var offBefore = await MeasureTerminalAsync(recording: false, cancellationToken);
        var on = await MeasureTerminalAsync(recording: true, cancellationToken);
        var offAfter = await MeasureTerminalAsync(recording: false, cancellationToken);
        var store = await MeasureStoreAsync(cancellationToken);

        Console.WriteLine();
        Console.WriteLine($"7. run history: recording on vs off (off measured before and after), {Samples} samples each");
        Console.WriteLine($"   /ws first byte      off {offBefore.FirstByte}");
        Console.WriteLine($"                       on  {on.FirstByte}");
        Console.WriteLine($"                       off {offAfter.FirstByte}");
        var firstByteOff = (offBefore.FirstByte.Median + offAfter.FirstByte.Median) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   on / off            median {on.FirstByte.Median / firstByteOff:0.00}x"));
        Console.WriteLine($"   hub line → stdout   off {offBefore.HubLine}");
        Console.WriteLine($"                       on  {on.HubLine}");
        Console.WriteLine($"                       off {offAfter.HubLine}");
        var lineOff = (offBefore.HubLine.P50 + offAfter.HubLine.P50) / 2;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   on / off            p50 {on.HubLine.P50 / lineOff:0.00}x"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   transcript store: {Printers} sessions printing {LinesPerPrinter} lines each: {store.Chunks} chunks stored in {store.Seconds:0.0} s = {store.Chunks / store.Seconds:0} chunks/s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"      (the programs printed for {store.PrintSeconds:0.0} s; the store was done {store.LagSeconds:0.00} s after the last one ended; incomplete transcripts: {store.Incomplete})"));
    }

    private async Task<(Stats FirstByte, HubBenchmark.Percentiles HubLine)> MeasureTerminalAsync(bool recording, CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("iris-bench-history-");
        try
        {
            await using var web = await WebAppProcess.StartAsync(Environment(data.FullName, recording), cancellationToken);
            var firstByte = await BenchRunner.MeasureWebSocketFirstByteAsync(web.Port, Samples, cancellationToken);
            var line = await HubBenchmark.HubLineRoundTripAsync(web.Port, Samples, cancellationToken);
            return (firstByte, line);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Sessions print lines a millisecond apart over <c>/ws</c>; then the transcripts are read back through the API
    /// (as an admin, the runs being anonymous) until every one is complete: chunks stored per second, from the
    /// first session's start until the store had them all.
    /// </summary>
    private static async Task<StoreFigures> MeasureStoreAsync(CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("iris-bench-history-");
        try
        {
            var environment = Environment(data.FullName, recording: true);
            await WebAppProcess.AdminAsync(environment, ["user", "add", AdminEmail, "--role", "admin"], cancellationToken);
            var token = (await WebAppProcess.AdminAsync(environment, ["token", "create", AdminEmail, "--scope", "runs:read"], cancellationToken))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
            await using var web = await WebAppProcess.StartAsync(environment, cancellationToken);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{web.Port}/") };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            var started = Stopwatch.GetTimestamp();
            await Task.WhenAll(Enumerable.Range(0, Printers).Select(_ => PrintAsync(web.Port, cancellationToken)));
            var printed = Stopwatch.GetElapsedTime(started);

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StoreTimeout);
            while (true)
            {
                var (chunks, complete, incomplete) = await ReadTranscriptsAsync(http, timeout.Token);
                if (complete == Printers)
                {
                    var done = Stopwatch.GetElapsedTime(started);
                    return new StoreFigures(chunks, done.TotalSeconds, printed.TotalSeconds, (done - printed).TotalSeconds, incomplete);
                }

                await Task.Delay(50, timeout.Token);
            }
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task PrintAsync(int port, CancellationToken cancellationToken)
    {
        var source = $"import sys, time\nfor i in range({LinesPerPrinter}):\n    sys.stdout.write(f'line {{i}}\\n')\n    sys.stdout.flush()\n    time.sleep(0.001)\n";
        using var socket = await RunnerSocket.StartPythonAsync(port, source, cancellationToken);
        while (true)
        {
            using var message = await RunnerSocket.ReceiveAsync(socket, cancellationToken)
                ?? throw new InvalidOperationException("/ws closed before the program's exit");
            if (message.RootElement.GetProperty("type").GetString() == "exit")
            {
                break;
            }
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, cancellationToken);
    }

    /// <summary>The printers' runs as the store has them now: chunks in all, runs ended with their transcript complete, incomplete ones.</summary>
    private static async Task<(int Chunks, int Complete, int Incomplete)> ReadTranscriptsAsync(HttpClient http, CancellationToken cancellationToken)
    {
        var page = await http.GetFromJsonAsync<RunPage>($"api/v1/runs?surface=ws&pageSize={Printers}", Json, cancellationToken)
            ?? throw new InvalidOperationException("GET /api/v1/runs answered null");
        int chunks = 0, complete = 0, incomplete = 0;
        foreach (var run in page.Items)
        {
            var transcript = await http.GetFromJsonAsync<Transcript>($"api/v1/runs/{run.Id}/transcript", Json, cancellationToken)
                ?? throw new InvalidOperationException($"GET /api/v1/runs/{run.Id}/transcript answered null");
            chunks += transcript.Events.Count;
            if (transcript.Incomplete)
            {
                incomplete++;
            }

            // The exit event is the transcript's last: the store has the run whole once it is there.
            if (run.FinishedAt is not null && transcript.Events.Count > 0 && transcript.Events[^1].Stream == "event"
                && transcript.Events[^1].Data.Contains("exit", StringComparison.Ordinal))
            {
                complete++;
            }
        }

        return (chunks, complete, incomplete);
    }

    private static Dictionary<string, string> Environment(string dataDirectory, bool recording) => new()
    {
        ["Iris__DataDirectory"] = dataDirectory,
        ["Iris__History__Enabled"] = recording ? "true" : "false",
    };

    private sealed record StoreFigures(int Chunks, double Seconds, double PrintSeconds, double LagSeconds, int Incomplete);

    private sealed record RunPage(IReadOnlyList<RunItem> Items);

    private sealed record RunItem(Guid Id, DateTime? FinishedAt);

    private sealed record Transcript(bool Incomplete, IReadOnlyList<TranscriptEvent> Events);

    private sealed record TranscriptEvent(long T, string Stream, string Data);
}
