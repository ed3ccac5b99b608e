using IrisIde.Execution.Batch;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace IrisIde.Worker;

/// <summary>Worker mode's health endpoint. Section <c>Iris:Worker</c>.</summary>
public sealed class WorkerHealthOptions
{
    public const string SectionName = "Iris:Worker";

    /// <summary>
    /// Where to serve <c>GET /healthz</c> (e.g. <c>http://0.0.0.0:8081</c>), for an orchestrator's liveness
    /// probe; unset, the worker listens on nothing.
    /// </summary>
    public string? HealthUrl { get; set; }
}

internal sealed class WorkerHealthOptionsValidator : IValidateOptions<WorkerHealthOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerHealthOptions options) =>
        options.HealthUrl is null
        || (Uri.TryCreate(options.HealthUrl, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttp && url.AbsolutePath == "/")
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"{WorkerHealthOptions.SectionName}:HealthUrl must be an http address without a path, such as http://0.0.0.0:8081");
}

/// <summary>
/// A small Kestrel server beside the worker that serves only <c>/healthz</c> — the worker's own health checks,
/// chiefly <see cref="ReceiveEndpointHealthCheck"/>: a worker whose consumer stays down past the grace period is
/// reported Unhealthy so the orchestrator restarts it. Registered before the bus, so it starts first and stops
/// last: a draining worker still answers its probe.
/// </summary>
internal sealed class WorkerHealthEndpoint(IOptions<WorkerHealthOptions> options, HealthCheckService health, ILoggerFactory loggerFactory, ILogger<WorkerHealthEndpoint> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? _server;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.HealthUrl is not { Length: > 0 } url)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(health);
        _server = builder.Build();
        _server.MapBatchHealthChecks("/healthz");
        await _server.StartAsync(cancellationToken);

        // The bound address, not the configured one: port 0 (tests) becomes the real port here.
        var healthUrl = new Uri(new Uri(_server.Urls.First()), "/healthz");
        WorkerLog.HealthEndpoint(logger, healthUrl);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_server is not null)
        {
            await _server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
