using IrisIde.Execution.Batch;
using MassTransit;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Batch;

/// <summary>
/// The grace rule of the bus liveness check, on a clock the test moves. The real broker outage (both
/// transitions seen through /healthz of the web app and of worker processes) is in <see cref="RabbitMqChaosTests"/>.
/// </summary>
public sealed class ReceiveEndpointHealthCheckTests
{
    private static readonly Uri Jobs = new("rabbitmq://localhost/vhost/run-requested");
    private static readonly Uri Results = new("rabbitmq://localhost/vhost/run-completed");

    private readonly ManualClock _clock = new();
    private readonly ReceiveEndpointHealthCheck _check;

    public ReceiveEndpointHealthCheckTests() =>
        _check = new ReceiveEndpointHealthCheck(Options.Create(new BatchJobOptions { EndpointGraceSeconds = 60 }), _clock, NullLogger<ReceiveEndpointHealthCheck>.Instance);

    [Fact]
    public async Task Ready_endpoints_are_healthy()
    {
        await _check.Ready(new Event(Jobs));
        await _check.Ready(new Event(Results));

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }

    [Fact]
    public async Task A_fault_is_degraded_within_the_grace_and_unhealthy_after_it()
    {
        await _check.Ready(new Event(Jobs));
        await _check.Ready(new Event(Results));

        await _check.Faulted(new Event(Jobs, new InvalidOperationException("CONNECTION_FORCED")));
        _clock.Advance(TimeSpan.FromSeconds(59));
        var within = await CheckAsync();
        _clock.Advance(TimeSpan.FromSeconds(2));
        var after = await CheckAsync();

        Assert.Equal(HealthStatus.Degraded, within.Status);
        Assert.Equal(HealthStatus.Unhealthy, after.Status);
        Assert.Contains("run-requested", after.Description, StringComparison.Ordinal);
        Assert.Contains("CONNECTION_FORCED", after.Description, StringComparison.Ordinal);
        Assert.DoesNotContain("run-completed", after.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Repeated_faults_count_from_the_first_not_the_latest()
    {
        await _check.Ready(new Event(Jobs));
        await _check.Faulted(new Event(Jobs, new InvalidOperationException("first")));
        for (var i = 0; i < 4; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(20));
            await _check.Faulted(new Event(Jobs, new InvalidOperationException($"retry {i}")));
        }

        var result = await CheckAsync();

        Assert.Equal(HealthStatus.Unhealthy, result.Status);
        Assert.Contains("retry 3", result.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ready_again_ends_the_outage()
    {
        await _check.Ready(new Event(Jobs));
        await _check.Completed(new Event(Jobs));
        _clock.Advance(TimeSpan.FromMinutes(5));
        var down = await CheckAsync();
        await _check.Ready(new Event(Jobs));
        _clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Unhealthy, down.Status);
        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }

    [Fact]
    public async Task An_endpoint_the_bus_is_stopping_is_not_a_fault()
    {
        await _check.Ready(new Event(Jobs));
        await _check.Stopping(new Event(Jobs));
        await _check.Completed(new Event(Jobs));
        _clock.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(HealthStatus.Healthy, (await CheckAsync()).Status);
    }

    private Task<HealthCheckResult> CheckAsync() =>
        _check.CheckHealthAsync(new HealthCheckContext
        {
            Registration = new HealthCheckRegistration(ReceiveEndpointHealthCheck.Name, _check, HealthStatus.Unhealthy, null),
        });

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 30, 6, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    /// <summary>One event type for all four: the check reads only the address (and a fault's exception).</summary>
    private sealed class Event(Uri inputAddress, Exception? exception = null)
        : ReceiveEndpointReady, ReceiveEndpointFaulted, ReceiveEndpointCompleted, ReceiveEndpointStopping
    {
        public Uri InputAddress { get; } = inputAddress;

        public IReceiveEndpoint ReceiveEndpoint => throw new NotSupportedException();

        public bool IsStarted => true;

        public Exception? Exception { get; } = exception;

        public long DeliveryCount => 0;

        public long ConcurrentDeliveryCount => 0;

        public bool Removed => false;
    }
}
