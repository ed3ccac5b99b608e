using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace IrisIde.Execution.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The standard variable that turns the OTLP exporter on (and says where it sends).</summary>
    public const string OtlpEndpointKey = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>
    /// Exports the <see cref="IrisMetrics.MeterName"/> meter with OpenTelemetry: over OTLP when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the exporter reads the other <c>OTEL_EXPORTER_OTLP_*</c> variables
    /// itself), nowhere otherwise; <paramref name="exporters"/> adds a host's own (the web app's Prometheus endpoint).
    /// </summary>
    public static OpenTelemetryBuilder AddIrisTelemetry(this IServiceCollection services, IConfiguration configuration, Action<MeterProviderBuilder>? exporters = null)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // OpenTelemetry listens by meter name, process-wide: this host exports only the instruments of its own meter
        // factory, not those of another host in the same process (the tests start many apps in one).
        services.ConfigureOpenTelemetryMeterProvider(static (provider, builder) =>
        {
            var own = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => instrument.Meter.Name == IrisMetrics.MeterName && instrument.Meter.Scope != own ? MetricStreamConfiguration.Drop : null);
        });
        return services.AddOpenTelemetry().WithMetrics(metrics =>
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
