using IrisIde.Execution.Batch;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Health;

/// <summary>Readiness settings. Section <c>Iris:Health</c>.</summary>
public sealed class HealthOptions
{
    public const string SectionName = "Iris:Health";

    /// <summary>
    /// Whether to run one tiny program through the real pipeline at start-up and keep the replica unready until
    /// it passed. <see cref="SelfTestMode.Auto"/>: when this process runs code itself (local sessions, or batch
    /// jobs on the in-memory bus); a web app whose sessions run in runner containers or pods and whose jobs go to
    /// workers has no sandbox of its own to test (the session-backend check covers its runners).
    /// </summary>
    public SelfTestMode SandboxSelfTest { get; set; } = SelfTestMode.Auto;

    /// <summary>How long after a failed self-test it is tried again (a transient failure should not keep a replica out for good).</summary>
    public double SelfTestRetrySeconds { get; set; } = 30;

    /// <summary>The longest the self-test run may take, compile included.</summary>
    public double SelfTestTimeoutSeconds { get; set; } = 60;
}

public enum SelfTestMode
{
    /// <summary>When this process runs code itself.</summary>
    Auto,

    /// <summary>Always (a web image that does carry a sandbox and toolchains).</summary>
    Always,

    /// <summary>Never.</summary>
    Never,
}

internal sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options)
    {
        var problems = new List<string>();
        if (options.SelfTestRetrySeconds <= 0) problems.Add("SelfTestRetrySeconds must be positive");
        if (options.SelfTestTimeoutSeconds <= 0) problems.Add("SelfTestTimeoutSeconds must be positive");
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{HealthOptions.SectionName}:{p}"));
    }
}

/// <summary>
/// The start-up self-test: one tiny run (Python's <c>print(1)</c>, or the first available language's
/// hello-world) through <see cref="RunPipeline"/> and the configured sandbox, exactly as a user's run goes.
/// Its result is kept: readiness reads it, it does not run code per probe. Until it passed the replica is
/// unready, with the reason; after a failure it is tried again every <see cref="HealthOptions.SelfTestRetrySeconds"/>.
/// </summary>
public sealed class SandboxSelfTest(
    RunPipeline pipeline,
    LanguageAvailability languages,
    ISessionHost sessions,
    IConfiguration configuration,
    IOptions<HealthOptions> options,
    ILogger<SandboxSelfTest> logger) : BackgroundService, IHealthCheck
{
    /// <summary>The registration name in the health checks.</summary>
    public const string Name = "sandbox-self-test";

    private readonly Lock _lock = new();
    private HealthCheckResult _latest = HealthCheckResult.Unhealthy("the start-up self-test has not finished yet");

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(Latest);

    private HealthCheckResult Latest
    {
        get
        {
            lock (_lock)
            {
                return _latest;
            }
        }

        set
        {
            lock (_lock)
            {
                _latest = value;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (SkipReason() is { } skipped)
        {
            Latest = HealthCheckResult.Healthy(skipped);
            return;
        }

        // Off the start-up path: the host finishes starting while the test runs.
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            var result = await RunOnceAsync(stoppingToken);
            Latest = result;
            if (result.Status == HealthStatus.Healthy)
            {
                HealthLog.SelfTestPassed(logger, result.Description ?? string.Empty);
                return;
            }

            HealthLog.SelfTestFailed(logger, result.Description ?? string.Empty);
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(options.Value.SelfTestRetrySeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Why the self-test does not run here, or null when it does.</summary>
    private string? SkipReason()
    {
        switch (options.Value.SandboxSelfTest)
        {
            case SelfTestMode.Never:
                return $"off ({HealthOptions.SectionName}:SandboxSelfTest is Never)";
            case SelfTestMode.Always:
                return null;
        }

        var runsJobs = BatchTransport.ReadRabbitMqAddress(configuration) is null;
        var runsSessions = sessions.Name == LocalSessionHost.HostName;
        return runsJobs || runsSessions
            ? null
            : $"skipped: this process runs no code itself (sessions: {sessions.Name}, batch jobs: workers)";
    }

    private async Task<HealthCheckResult> RunOnceAsync(CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.SelfTestTimeoutSeconds));
        var sandbox = pipeline.SandboxName;
        try
        {
            if (await TinyRun.CreateAsync(languages, timeout.Token) is not var (language, request))
            {
                return HealthCheckResult.Unhealthy("no language is available on this server, so nothing can run");
            }

            var events = await pipeline.RunToEndAsync(request, timeout.Token);
            var outcome = events.OfType<RunExited>().LastOrDefault()?.Outcome;
            var data = new Dictionary<string, object> { ["language"] = language.Id, ["sandbox"] = sandbox };
            if (outcome is null)
            {
                return HealthCheckResult.Unhealthy($"a {language.Id} run in the {sandbox} sandbox ended without a result", data: data);
            }

            data["verdict"] = outcome.Verdict.ToWireName();
            data["wallMs"] = (long)outcome.WallTime.TotalMilliseconds;
            return outcome.Verdict == Verdict.Ok && outcome.ExitCode == 0
                ? HealthCheckResult.Healthy($"a {language.Id} run in the {sandbox} sandbox passed in {outcome.WallTime.TotalMilliseconds:F0} ms", data)
                : HealthCheckResult.Unhealthy(
                    $"a {language.Id} run in the {sandbox} sandbox ended {outcome.Verdict.ToWireName()} (exit code {outcome.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}){(outcome.Message is { Length: > 0 } m ? ": " + m : string.Empty)}",
                    data: data);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"a run in the {sandbox} sandbox took longer than {options.Value.SelfTestTimeoutSeconds:F0} s");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"a run in the {sandbox} sandbox could not start: {e.GetBaseException().Message}");
        }
    }
}
