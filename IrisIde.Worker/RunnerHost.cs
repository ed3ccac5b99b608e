using IrisIde.Execution;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;

namespace IrisIde.Worker;

/// <summary>
/// Runner mode: a Kestrel server with <c>/ws</c> (the iris-runner protocol, the same handler as the web
/// host), <c>/languages</c> (what it can run, for the session host in front of it) and <c>/healthz</c>.
/// This is the entry point of the runner container and pod.
/// </summary>
public static class RunnerHost
{
    public const string DefaultUrl = "http://0.0.0.0:8080";

    /// <summary>
    /// Builds the runner. <paramref name="configure"/> lets tests adjust services and configuration
    /// before the app is built.
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // ASPNETCORE_URLS / --urls / ASPNETCORE_HTTP_PORTS win; otherwise all interfaces on 8080, as a pod needs.
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        builder.Services.AddIrisExecution(builder.Configuration).AddConfiguredBackends().AddRunnerProtocol();
        builder.Services.AddIrisTelemetry(builder.Configuration, "iris-runner");
        builder.Services.AddHealthChecks();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRunnerWebSockets();
        app.MapRunnerWebSocket("/ws");
        app.MapSessionLanguages("/languages");
        app.MapHealthChecks("/healthz");
        return app;
    }
}
