using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace IrisIde.Execution.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The standard variable that turns the OTLP exporter on (and says where it sends).</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The standard variable that names the service; when set it wins over the name the host passes.</summary>
    public const string ServiceNameKey = "OTEL_SERVICE_NAME";

    /// <summary>
    /// Exports the <see cref="IrisMetrics.MeterName"/> meter with OpenTelemetry: over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the other <c>OTEL_EXPORTER_OTLP_*</c> variables
    /// itself), nowhere otherwise; <paramref name="exporters"/> adds a host's own (the web app's Prometheus endpoint).
    /// The figures carry <c>service.name</c> = <paramref name="serviceName"/> (<c>iris-web</c>, <c>iris-worker</c>,
    /// <c>iris-runner</c>) unless <c>OTEL_SERVICE_NAME</c> says otherwise, so a collector tells the parts apart.
    /// </summary>
    public static OpenTelemetryBuilder AddIrisTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName, Action<MeterProviderBuilder>? exporters = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);
        // OpenTelemetry listens by meter name, process-wide: this host exports only the instruments of its own meter
        // factory, not those of another host in the same process (the tests start many apps in one).
        services.ConfigureOpenTelemetryMeterProvider(static (provider, builder) =>
        {
            var own = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => instrument.Meter.Name == IrisMetrics.MeterName && instrument.Meter.Scope != own ? MetricStreamConfiguration.Drop : null);
        });
        var named = configuration[ServiceNameKey] is { Length: > 0 } fromEnvironment ? fromEnvironment : serviceName;
        return services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(named, serviceVersion: typeof(IrisMetrics).Assembly.GetName().Version?.ToString())).WithMetrics(metrics =>
        {
            metrics.AddMeter(IrisMetrics.MeterName);
            if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointKey]))
            {
                metrics.AddOtlpExporter();
            }

            exporters?.Invoke(metrics);
        });
    }
}
