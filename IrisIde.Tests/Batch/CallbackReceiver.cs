using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Batch;

/// <summary>
/// The receiving end of run callbacks: a real Kestrel on a free loopback port. Each test takes an inbox of
/// its own (a URL), which records every POST and answers the ones it was told to fail with a status.
/// </summary>
public sealed class CallbackReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private readonly Dictionary<string, CallbackInbox> _inboxes = [];

    private Uri? _baseAddress;

    private CallbackReceiver(WebApplication app) => _app = app;

    public static async Task<CallbackReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        builder.Logging.ClearProviders();
        var receiver = new CallbackReceiver(builder.Build());
        receiver._app.MapPost("/callbacks/{key}", receiver.ReceiveAsync);
        await receiver._app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var addresses = receiver._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        receiver._baseAddress = new Uri(addresses.Addresses.First());
        return receiver;
    }

    /// <summary>A new inbox that answers its first <paramref name="failures"/> POSTs with <paramref name="failureStatus"/>, the rest with 204.</summary>
    public CallbackInbox CreateInbox(int failures = 0, int failureStatus = StatusCodes.Status500InternalServerError)
    {
        var key = Guid.NewGuid().ToString("N");
        var inbox = new CallbackInbox(new Uri(_baseAddress!, $"/callbacks/{key}"), failures, failureStatus);
        lock (_inboxes)
        {
            _inboxes.Add(key, inbox);
        }

        return inbox;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private async Task<IResult> ReceiveAsync(string key, HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        CallbackInbox? inbox;
        lock (_inboxes)
        {
            _inboxes.TryGetValue(key, out inbox);
        }

        return inbox is null
            ? Results.NotFound()
            : Results.StatusCode(inbox.Receive(body, request.Headers["Iris-Run-Id"].ToString(), request.ContentType));
    }
}

public sealed record ReceivedCallback(int AnsweredStatus, string Body, string RunIdHeader, string? ContentType);

public sealed class CallbackInbox(Uri url, int failures, int failureStatus)
{
    private readonly List<ReceivedCallback> _received = [];

    private readonly TaskCompletionSource<ReceivedCallback> _firstReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly TaskCompletionSource<ReceivedCallback> _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _failuresLeft = failures;

    public Uri Url { get; } = url;

    /// <summary>Completes with the first POST, whatever it was answered.</summary>
    public Task<ReceivedCallback> FirstReceived => _firstReceived.Task;

    /// <summary>Completes with the first POST answered 2xx.</summary>
    public Task<ReceivedCallback> Delivered => _delivered.Task;

    public IReadOnlyList<ReceivedCallback> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    /// <summary>From now on every POST succeeds.</summary>
    public void StopFailing()
    {
        lock (_received)
        {
            _failuresLeft = 0;
        }
    }

    internal int Receive(string body, string runIdHeader, string? contentType)
    {
        ReceivedCallback received;
        lock (_received)
        {
            var status = _failuresLeft > 0 ? failureStatus : StatusCodes.Status204NoContent;
            _failuresLeft = Math.Max(0, _failuresLeft - 1);
            received = new ReceivedCallback(status, body, runIdHeader, contentType);
            _received.Add(received);
        }

        _firstReceived.TrySetResult(received);
        if (received.AnsweredStatus is >= 200 and < 300)
        {
            _delivered.TrySetResult(received);
        }

        return received.AnsweredStatus;
    }
}
