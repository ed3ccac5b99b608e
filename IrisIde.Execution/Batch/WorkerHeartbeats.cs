using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using IrisIde.Execution.Batch.Contracts;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

/// <summary>Worker heartbeats and how the web app judges them. Section <c>Iris:Workers</c>.</summary>
public sealed class WorkerHeartbeatOptions
{
    public const string SectionName = "Iris:Workers";

    /// <summary>How often a job runner publishes its <see cref="WorkerHeartbeat"/>.</summary>
    public double HeartbeatSeconds { get; set; } = 5;

    /// <summary>Heartbeats in a row a worker may miss before the web app lists it as <c>missing</c>.</summary>
    public int MissingAfterHeartbeats { get; set; } = 3;

    /// <summary>How long the web app keeps listing a worker it no longer hears from before it forgets it.</summary>
    public double ForgetAfterMinutes { get; set; } = 10;
}

internal sealed class WorkerHeartbeatOptionsValidator : IValidateOptions<WorkerHeartbeatOptions>
{
    public ValidateOptionsResult Validate(string? name, WorkerHeartbeatOptions options)
    {
        var problems = new List<string>();
        if (options.HeartbeatSeconds is <= 0 or > 3600) problems.Add("HeartbeatSeconds must be between 0 and 3600");
        if (options.MissingAfterHeartbeats < 1) problems.Add("MissingAfterHeartbeats must be at least 1");
        if (options.ForgetAfterMinutes <= 0) problems.Add("ForgetAfterMinutes must be positive");
        if (options.ForgetAfterMinutes * 60 < options.HeartbeatSeconds * options.MissingAfterHeartbeats)
        {
            problems.Add("ForgetAfterMinutes must be longer than MissingAfterHeartbeats heartbeats");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{WorkerHeartbeatOptions.SectionName}:{p}"));
    }
}

public static class WorkerHeartbeatExtensions
{
    /// <summary>Binds and validates <see cref="WorkerHeartbeatOptions"/> (<c>Iris:Workers</c>).</summary>
    public static IServiceCollection AddWorkerHeartbeatOptions(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WorkerHeartbeatOptions>().Bind(configuration.GetSection(WorkerHeartbeatOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WorkerHeartbeatOptions>, WorkerHeartbeatOptionsValidator>());
        return services;
    }

    /// <summary>
    /// Publishes this process's <see cref="WorkerHeartbeat"/> while it runs jobs. Register after the bus
    /// (<c>AddMassTransit</c>), so heartbeats start once it is up. <paramref name="inProcess"/> marks the web
    /// app's embedded job runner.
    /// </summary>
    public static IServiceCollection AddWorkerHeartbeats(this IServiceCollection services, IConfiguration configuration, bool inProcess)
    {
        services.AddWorkerHeartbeatOptions(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<BatchJobsInFlight>();
        services.AddHostedService(provider => ActivatorUtilities.CreateInstance<WorkerHeartbeatPublisher>(provider, inProcess));
        return services;
    }
}

/// <summary>
/// Publishes a <see cref="WorkerHeartbeat"/> every <see cref="WorkerHeartbeatOptions.HeartbeatSeconds"/>. Each
/// one lives on the broker only as long as a receiver would still count it (the missing threshold): a
/// replica that reconnects late gets no stale news. A failed publish (the broker restarting) is logged and
/// the next beat tries again; a worker nobody hears from is what "missing" means.
/// </summary>
internal sealed class WorkerHeartbeatPublisher(
    IBus bus,
    BatchJobsInFlight inFlight,
    IOptions<BatchJobOptions> batch,
    IOptions<WorkerHeartbeatOptions> options,
    TimeProvider timeProvider,
    ILogger<WorkerHeartbeatPublisher> logger,
    bool inProcess) : BackgroundService
{
    private static readonly string Version =
        typeof(WorkerHeartbeat).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(WorkerHeartbeat).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    private static readonly TimeSpan GoodbyeTimeout = TimeSpan.FromSeconds(3);

    private readonly CpuSampler _cpu = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
        var timeToLive = interval * options.Value.MissingAfterHeartbeats;
        var startedAt = Process.GetCurrentProcess().StartTime.ToUniversalTime();
        var workerId = batch.Value.ResolveWorkerId();
        using var timer = new PeriodicTimer(interval, timeProvider);
        var failing = false;
        do
        {
            var heartbeat = new WorkerHeartbeat(
                workerId,
                Environment.MachineName,
                batch.Value.ConcurrentJobs,
                inFlight.Count,
                LoadAverage.OneMinute(),
                _cpu.Sample(),
                Version,
                startedAt,
                timeProvider.GetUtcNow().UtcDateTime,
                interval.TotalSeconds,
                inProcess);
            try
            {
                await bus.Publish(heartbeat, context => context.TimeToLive = timeToLive, stoppingToken);
                if (failing)
                {
                    WorkerHeartbeatLog.PublishRecovered(logger, workerId);
                    failing = false;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Once per outage, not once per beat.
                if (!failing)
                {
                    WorkerHeartbeatLog.PublishFailed(logger, workerId, e.GetBaseException().Message);
                    failing = true;
                }
            }
        }
        while (await WaitAsync(timer, stoppingToken));

        await SayGoodbyeAsync(workerId, startedAt);
    }

    /// <summary>
    /// Publishes <see cref="WorkerStopped"/> on a graceful stop. The host stops this service before the bus (it is
    /// registered after it), so the bus still carries it; a broker that does not answer within a few seconds
    /// leaves the replicas to notice the silence instead.
    /// </summary>
    private async Task SayGoodbyeAsync(string workerId, DateTime startedAt)
    {
        using var patience = new CancellationTokenSource(GoodbyeTimeout);
        try
        {
            var goodbye = new WorkerStopped(workerId, startedAt, timeProvider.GetUtcNow().UtcDateTime);
            var timeToLive = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds * options.Value.MissingAfterHeartbeats);
            await bus.Publish(goodbye, context => context.TimeToLive = timeToLive, patience.Token);
            WorkerHeartbeatLog.SaidGoodbye(logger, workerId);
        }
        catch (Exception e)
        {
            WorkerHeartbeatLog.GoodbyeFailed(logger, workerId, e.GetBaseException().Message);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>The process's CPU use between two samples, in percent of all cores.</summary>
    private sealed class CpuSampler
    {
        private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
        private long _lastTimestamp = Stopwatch.GetTimestamp();

        public double? Sample()
        {
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            var now = Stopwatch.GetTimestamp();
            var wall = Stopwatch.GetElapsedTime(_lastTimestamp, now);
            var used = cpu - _lastCpu;
            _lastCpu = cpu;
            _lastTimestamp = now;
            return wall <= TimeSpan.Zero ? null : Math.Round(100 * used / wall / Environment.ProcessorCount, 1);
        }
    }
}

/// <summary>The host's load average, from <c>/proc/loadavg</c> (Linux); null elsewhere.</summary>
internal static class LoadAverage
{
    public static double? OneMinute()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            var first = text.AsSpan(0, Math.Max(0, text.IndexOf(' ', StringComparison.Ordinal)));
            return double.TryParse(first, NumberStyles.Float, CultureInfo.InvariantCulture, out var load) ? load : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

internal static partial class WorkerHeartbeatLog
{
    [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Worker {WorkerId} could not publish its heartbeat: {Reason}")]
    public static partial void PublishFailed(ILogger logger, string workerId, string reason);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "Worker {WorkerId} publishes its heartbeat again")]
    public static partial void PublishRecovered(ILogger logger, string workerId);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Information, Message = "Worker {WorkerId} stops: told the web replicas")]
    public static partial void SaidGoodbye(ILogger logger, string workerId);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Worker {WorkerId} stops without telling the web replicas (they will notice its silence): {Reason}")]
    public static partial void GoodbyeFailed(ILogger logger, string workerId, string reason);
}
