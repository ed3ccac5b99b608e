using System.Net;
using IrisIde.Web.Hubs;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Security;

/// <summary>
/// Refuses cross-site WebSocket hijacking: a request to a run surface (<c>/ws</c>, <c>/run</c>, the hub and
/// its negotiate call) whose <c>Origin</c> is present and is neither this server's own origin nor an
/// allowed one gets 403 before any upgrade. Clients that send no <c>Origin</c> (the seed's scripts,
/// services) are not browsers acting for someone else and pass.
/// </summary>
public static class OriginCheck
{
    private static readonly PathString[] GuardedPaths = ["/ws", "/run", ExecutionHubEndpoints.Path];

    public static IServiceCollection AddIrisSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SecurityOptions>()
            .Bind(configuration.GetSection(SecurityOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>());
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<SecurityOptions>>((forwarded, security) =>
        {
            // ASP.NET Core trusts loopback proxies by default; only the configured ones are trusted here.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var proxy in security.Value.TrustedProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
        return services;
    }

    /// <summary>Forwarded headers from trusted proxies, then the origin check on the run surfaces.</summary>
    public static IApplicationBuilder UseIrisSecurity(this IApplicationBuilder app)
    {
        // With no known proxy at all the middleware believes every peer (it only checks when a list is
        // set), so it is added only when proxies are configured.
        if (app.ApplicationServices.GetRequiredService<IOptions<SecurityOptions>>().Value.TrustedProxies.Count > 0)
        {
            app.UseForwardedHeaders();
        }

        return app.Use(static async (context, next) =>
        {
            if (IsGuarded(context.Request.Path) && context.Request.Headers.Origin is { Count: > 0 } origins)
            {
                var allowed = context.RequestServices.GetRequiredService<IOptions<SecurityOptions>>().Value.AllowedOrigins;
                if (!IsAllowed(origins.ToString(), context.Request, allowed))
                {
                    await TypedResults.Problem(
                        statusCode: StatusCodes.Status403Forbidden,
                        title: "Origin not allowed",
                        detail: "This page's origin may not open runs on this server (see Iris:Security:AllowedOrigins).").ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
    }

    /// <summary><c>scheme://host[:port]</c> in lower case with the default port left out; null if it is not an origin.</summary>
    public static string? Normalize(string origin)
    {
        if (!Uri.TryCreate(origin.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return null;
        }

        return uri.IsDefaultPort ? $"{uri.Scheme}://{uri.IdnHost}" : $"{uri.Scheme}://{uri.IdnHost}:{uri.Port}";
    }

    internal static bool IsAllowed(string origin, HttpRequest request, IEnumerable<string> allowed)
    {
        // "null" (sandboxed frames, file: pages) and anything unparsable normalise to null and are refused.
        if (Normalize(origin) is not { } presented)
        {
            return false;
        }

        var own = request.Host.HasValue ? Normalize($"{request.Scheme}://{request.Host.Value}") : null;
        return string.Equals(presented, own, StringComparison.OrdinalIgnoreCase)
            || allowed.Any(a => string.Equals(Normalize(a), presented, StringComparison.OrdinalIgnoreCase));
    }

    private static bool IsGuarded(PathString path) => GuardedPaths.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));
}
