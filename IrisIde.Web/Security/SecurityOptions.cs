using System.Net;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Security;

/// <summary>Cross-site and proxy rules. Section <c>Iris:Security</c>.</summary>
public sealed class SecurityOptions
{
    public const string SectionName = "Iris:Security";

    /// <summary>
    /// Origins (<c>https://ide.example.edu</c>) besides this server's own whose pages may open <c>/ws</c>,
    /// <c>/run</c> or the execution hub. A browser always sends <c>Origin</c> on a WebSocket upgrade, so
    /// another site's page in a student's browser is refused (403) unless it is listed here.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Addresses of reverse proxies whose <c>X-Forwarded-For</c>/<c>X-Forwarded-Proto</c> are believed. Empty by
    /// default: the client is the address Kestrel sees, and a client cannot pick its own admission key.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];
}

internal sealed class SecurityOptionsValidator : IValidateOptions<SecurityOptions>
{
    public ValidateOptionsResult Validate(string? name, SecurityOptions options)
    {
        var problems = new List<string>();
        foreach (var origin in options.AllowedOrigins)
        {
            if (OriginCheck.Normalize(origin) is null)
            {
                problems.Add($"AllowedOrigins: '{origin}' is not an origin such as https://ide.example.edu (scheme, host and optional port, no path)");
            }
        }

        foreach (var proxy in options.TrustedProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                problems.Add($"TrustedProxies: '{proxy}' is not an IP address");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{SecurityOptions.SectionName}:{p}"));
    }
}
