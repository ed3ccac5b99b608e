using IrisIde.Execution;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;
using MassTransit;
using Microsoft.Extensions.Options;

namespace IrisIde.Worker;

/// <summary>
/// Worker mode: a consumer of <c>RunRequested</c> on RabbitMQ (<c>ConnectionStrings:RabbitMq</c>) that runs
/// each job in the configured sandbox, at most <c>Iris:Batch:ConcurrentJobs</c> at once, and publishes the
/// result before it acknowledges the job. SIGTERM drains: no new job is taken, running ones finish (up to
/// <c>Iris:Batch:DrainSeconds</c>, after which they are cancelled and go back to the queue).
/// </summary>
public static class WorkerHost
{
    /// <summary>
    /// Builds the worker. Throws <see cref="WorkerConfigurationException"/> when no broker is configured.
    /// <paramref name="configure"/> lets tests adjust services and configuration before the host is built.
    /// </summary>
    public static IHost Build(string[] args, Action<HostApplicationBuilder>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        configure?.Invoke(builder);

        RabbitMqAddress rabbitMq;
        try
        {
            rabbitMq = BatchTransport.ReadRabbitMqAddress(builder.Configuration)
                ?? throw new WorkerConfigurationException(
                    "worker mode takes its jobs from RabbitMQ: set ConnectionStrings:RabbitMq, e.g. ConnectionStrings__RabbitMq=amqp://user:password@host:5672/vhost");
        }
        catch (FormatException e)
        {
            throw new WorkerConfigurationException(e.Message);
        }

        builder.Services.AddIrisExecution(builder.Configuration).AddConfiguredBackends();
        builder.Services.AddBatchOptions(builder.Configuration);
        // Workers record the jobs they run; they export over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT), no /metrics of their own.
        builder.Services.AddIrisTelemetry(builder.Configuration, "iris-worker");
        builder.Services.AddBatchBusLifetime();
        builder.Services.AddBatchBusHealth();
        builder.Services.AddOptions<WorkerHealthOptions>().Bind(builder.Configuration.GetSection(WorkerHealthOptions.SectionName)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<WorkerHealthOptions>, WorkerHealthOptionsValidator>();
        builder.Services.AddHostedService<WorkerHealthEndpoint>();
        builder.Services.AddSingleton(rabbitMq);
        builder.Services.AddMassTransit(bus =>
        {
            bus.AddRunConsumers();
            bus.UsingIrisTransport(rabbitMq, "iris-worker");
        });
        builder.Services.AddWorkerHeartbeats(builder.Configuration, inProcess: false);
        builder.Services.AddHostedService<WorkerAnnouncer>();
        return builder.Build();
    }
}

/// <summary>The configuration a worker cannot start without is missing or wrong.</summary>
public sealed class WorkerConfigurationException(string message) : Exception(message);

/// <summary>Says once, when the worker has started, who it is and where it takes jobs from.</summary>
internal sealed class WorkerAnnouncer(RabbitMqAddress broker, IOptions<BatchJobOptions> options, ILogger<WorkerAnnouncer> logger) : IHostedService
{
    private readonly string _workerId = options.Value.ResolveWorkerId();
    private readonly string _broker = broker.ToString();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        WorkerLog.Started(logger, _workerId, _broker, options.Value.ConcurrentJobs);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        WorkerLog.Draining(logger, _workerId);
        return Task.CompletedTask;
    }
}

internal static partial class WorkerLog
{
    [LoggerMessage(EventId = 4201, Level = LogLevel.Information, Message = "Worker {WorkerId} takes jobs from {Broker}, {ConcurrentJobs} at once")]
    public static partial void Started(ILogger logger, string workerId, string broker, int concurrentJobs);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Information, Message = "Worker {WorkerId} is stopping: running jobs finish, no new job is taken")]
    public static partial void Draining(ILogger logger, string workerId);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Information, Message = "Worker health endpoint: {HealthUrl}")]
    public static partial void HealthEndpoint(ILogger logger, Uri healthUrl);
}
