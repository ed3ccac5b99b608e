using System.Collections.Concurrent;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Batch;

/// <summary>
/// Liveness of the bus's consumers: Unhealthy once a receive endpoint has stayed faulted or not ready for
/// longer than <see cref="BatchJobOptions.EndpointGraceSeconds"/>, so an orchestrator restarts a process
/// whose consumers stopped for good. Within the grace it is only Degraded: a broker restart takes seconds
/// and the transport reconnects by itself, and restarting every process for that would only add load.
/// </summary>
/// <remarks>
/// It follows the endpoints' own events rather than sampling MassTransit's bus health at probe time, so
/// "not ready since" is the moment the endpoint went down, not the first probe that happened to see it.
/// An endpoint the bus is stopping (host shutdown, draining) is not a fault.
/// </remarks>
public sealed class ReceiveEndpointHealthCheck(IOptions<BatchJobOptions> options, TimeProvider timeProvider, ILogger<ReceiveEndpointHealthCheck> logger)
    : IReceiveEndpointObserver, IHealthCheck
{
    /// <summary>The registration name in the host's health checks.</summary>
    public const string Name = "batch-receive-endpoints";

    private readonly ConcurrentDictionary<Uri, EndpointState> _endpoints = new();

    public Task Ready(ReceiveEndpointReady ready)
    {
        var now = timeProvider.GetUtcNow();
        if (_endpoints.TryGetValue(ready.InputAddress, out var previous) && !previous.IsReady)
        {
            ReceiveEndpointHealthLog.Recovered(logger, ready.InputAddress, (now - previous.Since).TotalSeconds);
        }

        _endpoints[ready.InputAddress] = new EndpointState(IsReady: true, IsStopping: false, now, null);
        return Task.CompletedTask;
    }

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        MarkNotReady(faulted.InputAddress, faulted.Exception?.GetBaseException().Message ?? "faulted");
        return Task.CompletedTask;
    }

    public Task Completed(ReceiveEndpointCompleted completed)
    {
        // Completed outside a stop means the transport lost its consumer (a closed channel or connection)
        // and is about to start again: not ready until it says Ready.
        if (!_endpoints.TryGetValue(completed.InputAddress, out var state) || !state.IsStopping)
        {
            MarkNotReady(completed.InputAddress, "the endpoint stopped consuming");
        }

        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping)
    {
        _endpoints[stopping.InputAddress] = new EndpointState(IsReady: false, IsStopping: true, timeProvider.GetUtcNow(), null);
        return Task.CompletedTask;
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = timeProvider.GetUtcNow();
        var grace = TimeSpan.FromSeconds(options.Value.EndpointGraceSeconds);
        var down = _endpoints
            .Where(e => !e.Value.IsReady && !e.Value.IsStopping)
            .Select(e => (Address: e.Key, Down: now - e.Value.Since, e.Value.Reason))
            .OrderByDescending(e => e.Down)
            .ToList();
        if (down.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"{_endpoints.Count} receive endpoint(s) ready"));
        }

        var data = down.ToDictionary(
            e => e.Address.AbsolutePath.TrimStart('/'),
            e => (object)$"not ready for {e.Down.TotalSeconds:F0} s: {e.Reason}");
        var description = string.Join("; ", data.Select(d => $"{d.Key} {d.Value}"));
        return Task.FromResult(down[0].Down > grace
            ? new HealthCheckResult(context.Registration.FailureStatus, $"receive endpoint(s) not ready for more than {grace.TotalSeconds:F0} s: {description}", data: data)
            : HealthCheckResult.Degraded($"receive endpoint(s) recovering: {description}", data: data));
    }

    private void MarkNotReady(Uri address, string reason)
    {
        var now = timeProvider.GetUtcNow();
        _endpoints.AddOrUpdate(
            address,
            _ =>
            {
                ReceiveEndpointHealthLog.NotReady(logger, address, reason);
                return new EndpointState(IsReady: false, IsStopping: false, now, reason);
            },
            (_, previous) =>
            {
                if (previous.IsStopping)
                {
                    return previous;
                }

                if (previous.IsReady)
                {
                    ReceiveEndpointHealthLog.NotReady(logger, address, reason);
                    return new EndpointState(IsReady: false, IsStopping: false, now, reason);
                }

                // Still down: keep the moment it went down, show the latest reason.
                return previous with { Reason = reason };
            });
    }

    private sealed record EndpointState(bool IsReady, bool IsStopping, DateTimeOffset Since, string? Reason);
}

internal static partial class ReceiveEndpointHealthLog
{
    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "Receive endpoint {Address} is not ready: {Reason}")]
    public static partial void NotReady(ILogger logger, Uri address, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Receive endpoint {Address} is ready again after {Seconds:F1} s")]
    public static partial void Recovered(ILogger logger, Uri address, double seconds);
}

public static class BatchHealthEndpoints
{
    /// <summary>
    /// A liveness endpoint: every health check of the host except MassTransit's own bus check, which is
    /// Unhealthy for as long as any broker hiccup lasts; <see cref="ReceiveEndpointHealthCheck"/> stands in
    /// for it with a grace period. Readiness checks (tag <see cref="BatchServiceCollectionExtensions.ReadinessTag"/>)
    /// are left out too: a dependency that is down makes a process unready, not dead.
    /// </summary>
    public static IEndpointConventionBuilder MapBatchHealthChecks(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.MapHealthChecks(pattern, new HealthCheckOptions
        {
            Predicate = registration => !registration.Tags.Contains(BatchServiceCollectionExtensions.BusReadinessTag)
                && !registration.Tags.Contains(BatchServiceCollectionExtensions.ReadinessTag),
        });
}
