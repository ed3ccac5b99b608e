using System.Globalization;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Metrics;

/// <summary>
/// The app of the metrics tests: a scrape token, an allowed network the tests are not in (so only the token and an
/// admin's cookie open <c>/metrics</c> from here), three run starts per minute per client (the fourth is refused),
/// sandbox uids 65200-65207.
/// </summary>
public sealed class MetricsAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 65200;

    public const string ScrapeToken = "metrics-test-scrape-token-0123456789";

    public const int RunsPerMinute = 3;

    public static readonly IReadOnlyDictionary<string, string?> MetricsSettings = new Dictionary<string, string?>
    {
        ["Iris:Metrics:ScrapeToken"] = ScrapeToken,
        ["Iris:Metrics:AllowedNetworks:0"] = "10.0.0.0/8",
        ["Iris:Admission:RunsPerMinutePerClient"] = RunsPerMinute.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "8",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => MetricsSettings;
}
