using System.Net;
using System.Security.Cryptography;
using System.Text;
using IrisIde.Execution.Telemetry;
using IrisIde.Web.Accounts;
using IrisIde.Web.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace IrisIde.Web.Metrics;

/// <summary>
/// <c>/metrics</c>: the <c>IrisIde</c> meter in Prometheus's text format, for a signed-in admin (cookie), a scraper
/// with <c>Authorization: Bearer &lt;Iris:Metrics:ScrapeToken&gt;</c>, or a client inside
/// <c>Iris:Metrics:AllowedNetworks</c>. Everyone else gets 404, as if there were nothing here, except a request that
/// presents a bearer token that does not match: 401, so a misconfigured scraper says why.
/// </summary>
/// <remarks>
/// The client address is the connection's, as the app already resolves it: <c>X-Forwarded-For</c> only counts from
/// <c>Iris:Security:TrustedProxies</c>, so a client cannot claim an allowed network with a header. Access tokens
/// (<c>iris_pat_…</c>) do not open this path: the access token middleware leaves its bearer alone.
/// </remarks>
public static class MetricsEndpoint
{
    public const string Path = "/metrics";

    /// <summary>Instruments and OpenTelemetry (OTLP when configured), the Prometheus exporter and the access rules.</summary>
    public static IServiceCollection AddMetricsEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>()
            .Bind(configuration.GetSection(MetricsOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());
        services.AddIrisTelemetry(configuration, "iris-web", metrics => metrics.AddPrometheusExporter());
        // A heartbeat-fed registry registered earlier wins; otherwise workers are guessed from recent runs.
        services.AddHostedService<BatchGaugeSampler>();
        return services;
    }

    public static IEndpointConventionBuilder MapMetricsEndpoint(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The gate runs as middleware (the exporter's endpoint is a plain request delegate, without filters), for the
        // endpoint routing matched, whatever the spelling of its path.
        app.Use(static async (context, next) =>
        {
            if (context.GetEndpoint()?.Metadata.GetMetadata<MetricsEndpointMarker>() is not null)
            {
                var options = context.RequestServices.GetRequiredService<IOptionsMonitor<MetricsOptions>>().CurrentValue;
                switch (Decide(context, options))
                {
                    case MetricsAccess.Refused:
                        context.Response.StatusCode = StatusCodes.Status404NotFound;
                        return;
                    case MetricsAccess.BadToken:
                        context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                        await TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Invalid scrape token").ExecuteAsync(context);
                        return;
                }
            }

            await next(context);
        });
        return app.MapPrometheusScrapingEndpoint(Path).WithMetadata(new MetricsEndpointMarker());
    }

    internal enum MetricsAccess
    {
        Allowed,
        Refused,
        BadToken,
    }

    internal static MetricsAccess Decide(HttpContext context, MetricsOptions options)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated == true && user.IsInRole(IrisRoles.Admin) && !RunAccess.IsAccessToken(user))
        {
            return MetricsAccess.Allowed;
        }

        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return TokenMatches(authorization["Bearer ".Length..].Trim(), options.ScrapeToken) ? MetricsAccess.Allowed : MetricsAccess.BadToken;
        }

        return InAllowedNetwork(context.Connection.RemoteIpAddress, options.AllowedNetworks) ? MetricsAccess.Allowed : MetricsAccess.Refused;
    }

    /// <summary>Constant-time over the token's length (both sides hashed first); an empty token, either side, never matches.</summary>
    internal static bool TokenMatches(string presented, string? configured)
    {
        if (string.IsNullOrEmpty(presented) || string.IsNullOrEmpty(configured))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(configured)));
    }

    internal static bool InAllowedNetwork(IPAddress? address, IReadOnlyList<string> networks)
    {
        if (address is null || networks.Count == 0)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var text in networks)
        {
            if (IPNetwork.TryParse(text, out var network) && network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class MetricsEndpointMarker;
}
