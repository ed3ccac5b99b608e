using System.Text.Json;
using IrisIde.Execution.Batch;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Health;

/// <summary>
/// The web app's probes. <c>/healthz/live</c>: the process answers (tag <see cref="LivenessTag"/>; no dependency,
/// so Kubernetes never restarts a replica because the database or broker blinked). <c>/healthz/ready</c>: every
/// dependency a request needs — database, broker (MassTransit's bus check and the receive endpoints), session
/// backend, and the start-up sandbox self-test. <c>/healthz</c> stays what it was (liveness with the receive
/// endpoints' grace). All three are unauthenticated for the probes, and their JSON holds statuses and
/// descriptions only: no connection strings, no exception stacks.
/// </summary>
public static class HealthEndpoints
{
    /// <summary>The tag of the checks <c>/healthz/live</c> serves.</summary>
    public const string LivenessTag = "live";

    public static IServiceCollection AddIrisHealthChecks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HealthOptions>().Bind(configuration.GetSection(HealthOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthOptions>, HealthOptionsValidator>();
        services.AddSingleton<SandboxSelfTest>();
        services.AddHostedService(provider => provider.GetRequiredService<SandboxSelfTest>());
        var ready = new[] { BatchServiceCollectionExtensions.ReadinessTag };
        services.AddHealthChecks()
            .AddCheck<ProcessHealthCheck>(ProcessHealthCheck.Name, tags: [LivenessTag])
            .AddCheck<DatabaseHealthCheck>(DatabaseHealthCheck.Name, tags: ready, timeout: TimeSpan.FromSeconds(10))
            .AddCheck<SessionBackendHealthCheck>(SessionBackendHealthCheck.Name, tags: ready, timeout: TimeSpan.FromSeconds(15))
            .AddCheck<SandboxSelfTest>(SandboxSelfTest.Name, tags: ready);
        return services;
    }

    public static IEndpointRouteBuilder MapIrisHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapBatchHealthChecks("/healthz");
        endpoints.MapHealthChecks("/healthz/live", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(LivenessTag),
            ResponseWriter = WriteJsonAsync,
        });
        endpoints.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains(BatchServiceCollectionExtensions.ReadinessTag)
                || registration.Tags.Contains(BatchServiceCollectionExtensions.BusReadinessTag)
                || registration.Name == ReceiveEndpointHealthCheck.Name,
            ResponseWriter = WriteJsonAsync,
        });
        return endpoints;
    }

    /// <summary>
    /// <c>{"status","totalDurationMs","checks":{name:{"status","description","durationMs","data"}}}</c>. Data
    /// values are written as strings and numbers only; exceptions are never written.
    /// </summary>
    internal static async Task WriteJsonAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("totalDurationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteString("description", entry.Description ?? entry.Exception?.GetType().Name);
            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            if (entry.Data.Count > 0)
            {
                json.WriteStartObject("data");
                foreach (var (key, value) in entry.Data)
                {
                    switch (value)
                    {
                        case int or long or double or float or decimal:
                            json.WriteNumber(key, Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                        case bool flag:
                            json.WriteBoolean(key, flag);
                            break;
                        default:
                            json.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
                            break;
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}

internal static partial class HealthLog
{
    [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Sandbox self-test passed: {Description}")]
    public static partial void SelfTestPassed(ILogger logger, string description);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Sandbox self-test failed, the app stays unready: {Description}")]
    public static partial void SelfTestFailed(ILogger logger, string description);
}
