using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Remote;

/// <summary>
/// Runs every session on one runner (<c>IrisIde.Worker runner</c>) at a fixed address, through a
/// <see cref="RunnerProtocolClient"/> per session. The runner-per-session hosts (Docker, Kubernetes) do
/// the same once they have started a runner; this one is for tests and for a runner that already runs.
/// Not offered as an <c>Iris:Sessions:Host</c> value: it has no settings section and nothing stops the
/// sessions of several users from sharing the runner's limits.
/// </summary>
/// <param name="runner">The runner's base address, <c>http://host:8080/</c>: the protocol is at <c>/ws</c>, its languages at <c>/languages</c>.</param>
/// <param name="http">Asks the runner for its languages; owned by the caller.</param>
public sealed class RemoteRunnerSessionHost(
    Uri runner,
    HttpClient http,
    LanguageCatalog catalog,
    ILoggerFactory loggerFactory,
    RunnerProtocolClientOptions? options = null) : ISessionHost
{
    public const string HostName = "remote";

    private readonly ILogger _logger = loggerFactory.CreateLogger<RemoteRunnerSessionHost>();
    private readonly RunnerProtocolClientOptions _options = options ?? new RunnerProtocolClientOptions();

    public string Name => HostName;

    /// <summary>The runner's protocol endpoint: <c>ws://host:8080/ws</c> (<c>wss</c> for an https runner).</summary>
    public Uri ProtocolUri { get; } = new UriBuilder(new Uri(runner, "ws"))
    {
        Scheme = string.Equals(runner.Scheme, Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase) ? Uri.UriSchemeWss : Uri.UriSchemeWs,
    }.Uri;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(owner);
        return await RunnerProtocolClient.ConnectAsync(ProtocolUri, request with { Owner = owner.UserId }, catalog, _options, _logger, cancellationToken);
    }

    /// <summary>
    /// Asks the runner (<c>GET /languages</c>): its toolchains decide what runs. A runner that does not
    /// answer makes every language unavailable, with the reason, rather than failing the caller.
    /// </summary>
    public async Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken)
    {
        var address = new Uri(runner, "languages");
        LanguageList? list;
        try
        {
            list = await http.GetFromJsonAsync(address, LanguageListJsonContext.Default.LanguageList, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            var why = ex is TaskCanceledException ? "no answer in time" : ex.Message;
            RunnerProtocolClientLog.LanguagesUnavailable(_logger, address, why);
            return [.. catalog.All.Select(l => new LanguageStatus(l, false, null, $"the runner at {runner} did not list its languages: {why}"))];
        }

        var offered = (list?.Languages ?? []).ToDictionary(l => l.Id, StringComparer.Ordinal);
        return [.. catalog.All.Select(l => offered.TryGetValue(l.Id, out var info)
            ? new LanguageStatus(l, info.Available, info.Version, info.Reason)
            : new LanguageStatus(l, false, null, $"the runner at {runner} does not offer {l.DisplayName}"))];
    }
}
