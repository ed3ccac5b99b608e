using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Metrics;

/// <summary>
/// An OTLP/HTTP metrics receiver, in the test process: Kestrel on a free loopback port that takes
/// <c>POST /v1/metrics</c> with <c>application/x-protobuf</c>, keeps each body and answers 200 with an empty body
/// (an empty <c>ExportMetricsServiceResponse</c>: all accepted). Anything else gets 404 or 415, and is noted.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    public const string MetricsPath = "/v1/metrics";

    public const string ProtobufContentType = "application/x-protobuf";

    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<byte[]> _bodies = [];
    private readonly List<string> _refused = [];

    private OtlpReceiver(WebApplication app) => _app = app;

    /// <summary>The value of <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> that sends here (the exporter appends <c>/v1/metrics</c>).</summary>
    public string Endpoint { get; private set; } = string.Empty;

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.Run(receiver.ReceiveAsync);
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Endpoint = new Uri(address).GetLeftPart(UriPartial.Authority);
        return receiver;
    }

    /// <summary>Every export request decoded, in the order they arrived.</summary>
    public IReadOnlyList<OtlpMetricsRequest> Requests()
    {
        lock (_gate)
        {
            return [.. _bodies.Select(body => OtlpMetricsRequest.Parse(body))];
        }
    }

    /// <summary>The requests that were not OTLP/HTTP metrics exports (method, path, content type).</summary>
    public IReadOnlyList<string> Refused()
    {
        lock (_gate)
        {
            return [.. _refused];
        }
    }

    private async Task ReceiveAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.Method != HttpMethods.Post || request.Path != MetricsPath)
        {
            Refuse(context, StatusCodes.Status404NotFound);
            return;
        }

        if (!string.Equals(request.ContentType, ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            Refuse(context, StatusCodes.Status415UnsupportedMediaType);
            return;
        }

        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);
        lock (_gate)
        {
            _bodies.Add(body.ToArray());
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = ProtobufContentType;
        context.Response.ContentLength = 0;
    }

    private void Refuse(HttpContext context, int status)
    {
        lock (_gate)
        {
            _refused.Add($"{context.Request.Method} {context.Request.Path} ({context.Request.ContentType ?? "no content type"}): {status}");
        }

        context.Response.StatusCode = status;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));
        await _app.DisposeAsync();
    }
}
