using IrisIde.Execution;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Worker;

/// <summary>
/// Runner mode: a Kestrel server with <c>/ws</c> (the iris-runner protocol, the same handler as the web
/// host) and <c>/healthz</c>. This is the entry point of the runner container and pod.
/// </summary>
public static class RunnerHost
{
    public const string DefaultUrl = "http://0.0.0.0:8080";

    /// <summary><c>Bubblewrap</c> (default) or <c>Process</c> (inside a runner pod, where the pod is the boundary).</summary>
    public const string SandboxKindKey = "Iris:Sandbox:Kind";

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

        builder.Services.AddIrisExecution(builder.Configuration).AddRunnerProtocol();
        AddSandbox(builder.Services, builder.Configuration[SandboxKindKey]);
        builder.Services.AddHealthChecks();
        configure?.Invoke(builder);

        var app = builder.Build();
        app.UseRunnerWebSockets();
        app.MapRunnerWebSocket("/ws");
        app.MapHealthChecks("/healthz");
        return app;
    }

    private static void AddSandbox(IServiceCollection services, string? kind)
    {
        if (string.IsNullOrEmpty(kind) || string.Equals(kind, "Bubblewrap", StringComparison.OrdinalIgnoreCase))
        {
            services.AddBubblewrapSandbox();
            return;
        }

        if (string.Equals(kind, "Process", StringComparison.OrdinalIgnoreCase))
        {
            services.AddProcessSandbox();
            return;
        }

        throw new InvalidOperationException($"{SandboxKindKey}='{kind}' is not a sandbox the runner knows: use Bubblewrap or Process.");
    }
}
