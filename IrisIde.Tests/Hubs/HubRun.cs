using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;

namespace IrisIde.Tests.Hubs;

/// <summary>
/// One <c>StartRun</c> stream of the execution hub, read through the .NET SignalR client: its items are
/// collected as they come so a test can wait for text, read to the end and look at what it got.
/// </summary>
public sealed class HubRun
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Channel<JsonElement> _items = Channel.CreateUnbounded<JsonElement>();
    private readonly CancellationTokenSource _cancel = new();
    private readonly List<JsonElement> _received = [];
    private string? _error;

    private HubRun()
    {
    }

    /// <summary>Every item received so far, in order.</summary>
    public IReadOnlyList<JsonElement> Received => _received;

    /// <summary>Why the stream ended abnormally (a hub error, the connection closing), null if it completed.</summary>
    public string? Error => Volatile.Read(ref _error);

    public string RunId => One("started").GetProperty("runId").GetString()!;

    /// <summary>
    /// A connection to the hub at <paramref name="baseAddress"/> that pings every 2 s, as the page's client
    /// does (the server closes one silent for longer than its client timeout).
    /// </summary>
    public static async Task<HubConnection> ConnectAsync(Uri baseAddress)
    {
        var connection = new HubConnectionBuilder().WithUrl(new Uri(baseAddress, "/hubs/execution")).Build();
        connection.KeepAliveInterval = TimeSpan.FromSeconds(2);
        await connection.StartAsync().WaitAsync(Timeout);
        return connection;
    }

    /// <summary>Starts a run of <paramref name="source"/> (one file; an empty name takes the language's default).</summary>
    public static HubRun Start(HubConnection connection, string language, string source, string? name = null)
    {
        var run = new HubRun();
        var request = new { language, files = new[] { new { name = name ?? string.Empty, content = source } } };
        _ = run.PumpAsync(connection.StreamAsync<JsonElement>("StartRun", request, run._cancel.Token));
        return run;
    }

    /// <summary>Cancels the stream: the client sends CancelInvocation, which stops the run.</summary>
    public Task CancelAsync() => _cancel.CancelAsync();

    /// <summary>The next item, or null when the stream ended.</summary>
    public async Task<JsonElement?> NextAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        if (!await _items.Reader.WaitToReadAsync(timeout.Token))
        {
            return null;
        }

        var item = await _items.Reader.ReadAsync(timeout.Token);
        _received.Add(item);
        return item;
    }

    /// <summary>Reads until the text of <paramref name="type"/> events so far contains <paramref name="text"/>.</summary>
    public async Task WaitForTextAsync(string type, string text)
    {
        while (!Text(type).Contains(text, StringComparison.Ordinal))
        {
            _ = await NextAsync() ?? throw new InvalidOperationException($"stream ended before {type} showed '{text}'; got: {Describe()}");
        }
    }

    /// <summary>Reads every item until the stream ends.</summary>
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

    public string Describe() => string.Join(" ", _received.Select(e => e.GetRawText()));

    private async Task PumpAsync(IAsyncEnumerable<JsonElement> stream)
    {
        try
        {
            await foreach (var item in stream)
            {
                _items.Writer.TryWrite(item);
            }
        }
        catch (Exception e)
        {
            // A hub error, the connection closing, or our own cancellation: the stream is over either way.
            Volatile.Write(ref _error, e.Message);
        }
        finally
        {
            _items.Writer.TryComplete();
        }
    }
}
