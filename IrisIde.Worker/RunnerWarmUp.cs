using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IrisIde.Worker;

/// <summary>
/// One tiny run (Python's <c>print(1)</c>, or the first available language's hello-world) through the runner's own
/// pipeline and sandbox as it starts, before <c>/healthz</c> says ready. A runner waiting in a pool has so already
/// compiled the run path and loaded the toolchain from disk, and the session it serves starts at once instead of
/// paying for the runtime's first-call compilation while the pool starts its successor beside it. The run is the
/// runner's own (no user's code, nothing of it kept); whatever its verdict, the runner is ready afterwards, and at the
/// latest after <see cref="Limit"/>: the session path reports a broken toolchain with the reason.
/// </summary>
internal sealed partial class RunnerWarmUp(RunPipeline pipeline, LanguageAvailability languages, ILogger<RunnerWarmUp> logger) : BackgroundService, IHealthCheck
{
    public const string Name = "runner-warm-up";

    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    private volatile bool _done;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done ? HealthCheckResult.Healthy("warmed up") : HealthCheckResult.Unhealthy("warming up (one run through the pipeline)"));

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
                var events = await pipeline.RunToEndAsync(request, timeout.Token);
                var verdict = events.OfType<RunExited>().LastOrDefault()?.Outcome.Verdict;
                WarmedUp(logger, language.Id, verdict, started.ElapsedMilliseconds);
            }
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            WarmUpCut(logger, Limit.TotalSeconds);
        }
        finally
        {
            _done = true;
        }
    }

    [LoggerMessage(EventId = 4230, Level = LogLevel.Information, Message = "Runner warmed up: one {Language} run, verdict {Verdict}, in {ElapsedMs} ms")]
    private static partial void WarmedUp(ILogger logger, string language, Execution.Sandboxing.Verdict? verdict, long elapsedMs);

    [LoggerMessage(EventId = 4231, Level = LogLevel.Warning, Message = "Runner warm-up cut after {Seconds} s: ready without it")]
    private static partial void WarmUpCut(ILogger logger, double seconds);
}
