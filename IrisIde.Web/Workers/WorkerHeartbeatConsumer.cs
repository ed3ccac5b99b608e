using IrisIde.Execution.Batch.Contracts;
using MassTransit;

namespace IrisIde.Web.Workers;

/// <summary>Puts each <see cref="WorkerHeartbeat"/> and <see cref="WorkerStopped"/> into this replica's <see cref="WorkerRegistry"/>.</summary>
public sealed class WorkerHeartbeatConsumer(WorkerRegistry registry) : IConsumer<WorkerHeartbeat>, IConsumer<WorkerStopped>
{
    public Task Consume(ConsumeContext<WorkerHeartbeat> context)
    {
        registry.Record(context.Message);
        return Task.CompletedTask;
    }

    public Task Consume(ConsumeContext<WorkerStopped> context)
    {
        registry.Stopped(context.Message);
        return Task.CompletedTask;
    }
}

/// <summary>Names this web replica on the bus; unique per process and app instance.</summary>
public sealed class WebReplica
{
    public string Id { get; } = $"{Environment.MachineName.ToLowerInvariant()}-{Guid.NewGuid().ToString("N")[..12]}";
}

/// <summary>
/// Heartbeats are published, and every web replica must see all of them: each keeps its own registry, and a
/// load balancer may send an admin's request to any replica. A shared (competing-consumer) queue would hand
/// each heartbeat to one replica only, so each replica gets a receive endpoint of its own instead, named
/// after it (<c>worker-heartbeat-{replica}</c>) and bound to the heartbeat exchange: the broker copies every
/// heartbeat into each. The endpoint is temporary: on RabbitMQ a queue that is not durable and expires
/// (<c>x-expires</c>, 60 s) once no consumer has used it for that long, so a scaled-down or crashed replica
/// leaves no queue filling up with heartbeats nobody reads, while a replica's brief reconnect keeps its queue.
/// Heartbeats carry a time-to-live too, so a replica that was cut off gets no stale ones when it returns.
/// </summary>
public sealed class WorkerHeartbeatConsumerDefinition : ConsumerDefinition<WorkerHeartbeatConsumer>
{
    public WorkerHeartbeatConsumerDefinition(WebReplica replica)
    {
        ArgumentNullException.ThrowIfNull(replica);
        Endpoint(e =>
        {
            e.InstanceId = replica.Id;
            e.Temporary = true;
        });
    }
}
