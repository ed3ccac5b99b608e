using System.Net;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Metrics;

/// <summary>
/// Who may read <c>/metrics</c> besides a signed-in admin (<c>Iris:Metrics</c>). Both are off by default: then only
/// an admin's browser can read it.
/// </summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Iris:Metrics";

    /// <summary>Shortest scrape token accepted: it is a password a scraper sends on every request.</summary>
    public const int MinScrapeTokenLength = 16;

    /// <summary>A scraper sending <c>Authorization: Bearer</c> with this token reads the metrics; null or empty: none does.</summary>
    public string? ScrapeToken { get; set; }

    /// <summary>Client networks (CIDR, e.g. <c>10.0.0.0/8</c>, <c>127.0.0.1/32</c>) that read the metrics without a token.</summary>
    public List<string> AllowedNetworks { get; set; } = [];
}

internal sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrEmpty(options.ScrapeToken) && (options.ScrapeToken.Length < MetricsOptions.MinScrapeTokenLength || options.ScrapeToken.Any(char.IsWhiteSpace)))
        {
            errors.Add($"{MetricsOptions.SectionName}:ScrapeToken must be at least {MetricsOptions.MinScrapeTokenLength} characters without spaces (or unset)");
        }

        foreach (var network in options.AllowedNetworks)
        {
            if (!IPNetwork.TryParse(network, out _))
            {
                errors.Add($"{MetricsOptions.SectionName}:AllowedNetworks: '{network}' is not a network in CIDR notation (such as 10.0.0.0/8 or 127.0.0.1/32)");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
