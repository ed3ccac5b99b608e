using System.Security.Cryptography;
using System.Text;
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
    /// When set, <c>/ws</c> and <c>/languages</c> answer only requests carrying it as a bearer token; <c>/healthz</c> stays
    /// open for readiness probes. The session host gives each runner a token of its own, so a program in one runner
    /// cannot open a session on another runner of the same network.
    /// </summary>
    public const string AccessTokenKey = "Iris:Runner:AccessToken";

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

        // A runner serves one session: it probes the language it warms up with and the one it is asked to run, not
        // the whole catalogue while it starts (a JVM's version command alone is seconds of CPU under gVisor).
        // /languages, which a session host asks of one waiting runner now and then, probes the rest then.
        builder.Services.AddIrisExecution(builder.Configuration, probeLanguagesAtStart: false).AddConfiguredBackends().AddRunnerProtocol();
        builder.Services.AddIrisTelemetry(builder.Configuration, "iris-runner");
        builder.Services.AddSingleton<RunnerWarmUp>();
        builder.Services.AddHostedService(provider => provider.GetRequiredService<RunnerWarmUp>());
        builder.Services.AddHealthChecks().AddCheck<RunnerWarmUp>(RunnerWarmUp.Name);
        configure?.Invoke(builder);

        var app = builder.Build();
        if (app.Configuration[AccessTokenKey] is { Length: > 0 } accessToken)
        {
            app.Use(RequireAccessToken(accessToken));
        }

        app.UseRunnerWebSockets();
        app.MapRunnerWebSocket("/ws");
        app.MapSessionLanguages("/languages");
        app.MapHealthChecks("/healthz");
        app.Lifetime.ApplicationStarted.Register(() => OpenUnixSockets(app.Urls));
        return app;
    }

    private static Func<HttpContext, RequestDelegate, Task> RequireAccessToken(string accessToken)
    {
        var expected = Encoding.UTF8.GetBytes("Bearer " + accessToken);
        return (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments("/healthz", StringComparison.Ordinal))
            {
                return next(context);
            }

            var presented = Encoding.UTF8.GetBytes(context.Request.Headers.Authorization.ToString());
            if (CryptographicOperations.FixedTimeEquals(presented, expected))
            {
                return next(context);
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// A runner without a network listens on a unix socket in a folder only its session host sees (the Docker
    /// session host): the socket is made connectable for that host's user, whatever the runner's own uid is.
    /// </summary>
    private static void OpenUnixSockets(IEnumerable<string> urls)
    {
        const string UnixPrefix = "http://unix:";
        foreach (var url in urls.Where(u => u.StartsWith(UnixPrefix, StringComparison.OrdinalIgnoreCase)))
        {
            var path = url[UnixPrefix.Length..];
            if (OperatingSystem.IsLinux() && File.Exists(path))
            {
                File.SetUnixFileMode(path, (UnixFileMode)0b110_110_110);
            }
        }
    }
}
