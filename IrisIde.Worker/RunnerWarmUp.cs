using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions.Docker;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IrisIde.Worker;

/// <summary>
/// One tiny session (Python's <c>print(1)</c>, or the first available language's hello-world) over the runner's own
/// <c>/ws</c>, as a session host would open it, before <c>/healthz</c> says ready. A runner waiting in a pool has so
/// already compiled the whole session path (the WebSocket upgrade, the protocol, the interactive run and its sandbox)
/// and loaded the toolchain from disk, and the session it serves starts at once instead of paying for the runtime's
/// first-call compilation under its CPU limit. The session is the runner's own (no user's code, nothing of it kept);
/// whatever its verdict, the runner is ready afterwards, and at the latest after <see cref="Limit"/>: the session path
/// reports a broken toolchain with the reason. A runner whose own address cannot be reached (none is known) warms up
/// through its run pipeline instead.
/// </summary>
internal sealed partial class RunnerWarmUp(
    RunPipeline pipeline,
    LanguageAvailability languages,
    LanguageCatalog catalog,
    IServer server,
    IHostApplicationLifetime lifetime,
    IConfiguration configuration,
    ILogger<RunnerWarmUp> logger) : BackgroundService, IHealthCheck
{
    public const string Name = "runner-warm-up";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private volatile bool _done;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done ? HealthCheckResult.Healthy("warmed up") : HealthCheckResult.Unhealthy("warming up (one session over its own /ws)"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var started = System.Diagnostics.Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(Limit);
        try
        {
            if (await TinyRun.CreateAsync(languages, timeout.Token) is var (language, request))
            {
                await StartedAsync(timeout.Token);
                if (OwnEndpoint.Of(server, configuration[RunnerHost.AccessTokenKey]) is { } self)
                {
                    using (self)
                    {
                        var verdict = await SessionAsync(self, request, timeout.Token);
                        WarmedUp(logger, language.Id, "its own /ws", verdict, started.ElapsedMilliseconds);
                    }
                }
                else
                {
                    var events = await pipeline.RunToEndAsync(request, timeout.Token);
                    WarmedUp(logger, language.Id, "its run pipeline", events.OfType<RunExited>().LastOrDefault()?.Outcome.Verdict, started.ElapsedMilliseconds);
                }
            }
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            WarmUpCut(logger, Limit.TotalSeconds);
        }
        catch (Exception e) when (e is RunnerUnavailableException or RunValidationException or Execution.Admission.SessionRefusedException)
        {
            WarmUpFailed(logger, e.Message);
        }
        finally
        {
            _done = true;
        }
    }

    /// <summary>Waits until the server listens (hosted services start before it does).</summary>
    private async Task StartedAsync(CancellationToken cancellationToken)
    {
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var started = lifetime.ApplicationStarted.Register(() => listening.TrySetResult());
        await listening.Task.WaitAsync(cancellationToken);
    }

    private async Task<Execution.Sandboxing.Verdict> SessionAsync(OwnEndpoint self, RunRequest request, CancellationToken cancellationToken)
    {
        var interactive = RunRequestFactory.Interactive(request.Language, request.Files);
        await using var session = await RunnerProtocolClient.ConnectAsync(self.ProtocolUri, self.Invoker, interactive, catalog, new RunnerProtocolClientOptions(), logger, cancellationToken);
        await foreach (var _ in session.Events.ReadAllAsync(cancellationToken))
        {
        }

        return (await session.Completion.WaitAsync(cancellationToken)).Verdict;
    }

    [LoggerMessage(EventId = 4230, Level = LogLevel.Information, Message = "Runner warmed up: one {Language} run through {Path}, verdict {Verdict}, in {ElapsedMs} ms")]
    private static partial void WarmedUp(ILogger logger, string language, string path, Execution.Sandboxing.Verdict? verdict, long elapsedMs);

    [LoggerMessage(EventId = 4231, Level = LogLevel.Warning, Message = "Runner warm-up cut after {Seconds} s: ready without it")]
    private static partial void WarmUpCut(ILogger logger, double seconds);

    [LoggerMessage(EventId = 4232, Level = LogLevel.Warning, Message = "Runner warm-up session failed: {Reason}; ready without it")]
    private static partial void WarmUpFailed(ILogger logger, string reason);

    /// <summary>The runner's own <c>/ws</c> as a session host reaches it: its first listening address, its access token.</summary>
    private sealed class OwnEndpoint(Uri baseAddress, string? socketPath, string accessToken)
        : RemoteRunner("self", "self", baseAddress, accessToken, DateTimeOffset.UtcNow)
    {
        private const string UnixPrefix = "http://unix:";

        public static OwnEndpoint? Of(IServer server, string? accessToken)
        {
            var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
            if (address is null)
            {
                return null;
            }

            // Without a configured token nothing checks the header; any value does.
            var token = accessToken is { Length: > 0 } t ? t : "none";
            if (address.StartsWith(UnixPrefix, StringComparison.OrdinalIgnoreCase))
            {
                return new OwnEndpoint(UnixSocketHttp.BaseAddress, address[UnixPrefix.Length..], token);
            }

            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
            {
                return null;
            }

            // A wildcard listener answers on loopback.
            var host = uri.Host switch
            {
                "0.0.0.0" or "+" or "*" => "127.0.0.1",
                "[::]" or "::" => "[::1]",
                var named => named,
            };
            return new OwnEndpoint(new UriBuilder(uri) { Host = host, Path = "/" }.Uri, null, token);
        }

        protected override HttpMessageHandler CreateTransport() =>
            socketPath is { } socket ? UnixSocketHttp.CreateHandler(socket) : base.CreateTransport();
    }
}
