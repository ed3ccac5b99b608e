using MassTransit;
using Microsoft.Extensions.Configuration;

namespace IrisIde.Execution.Batch;

/// <summary>
/// The bus both hosts share: RabbitMQ when <c>ConnectionStrings:RabbitMq</c> is set, otherwise the
/// in-memory transport (one process runs everything). Endpoint names are kebab-case
/// (<c>run-requested</c>, <c>run-requested_error</c>, ...), so web and worker meet on the same queues.
/// </summary>
public static class BatchTransport
{
    /// <summary>The connection string name: <c>ConnectionStrings:RabbitMq</c>.</summary>
    public const string RabbitMqConnectionStringName = "RabbitMq";

    /// <summary>
    /// The durable queue jobs wait in, and the receive endpoint of <see cref="RunRequestedConsumer"/>. Jobs
    /// are sent to it by name rather than published: sending declares the queue, so a job queued before
    /// any worker has ever started waits for one instead of being dropped by an exchange with no queue.
    /// </summary>
    public const string JobQueueName = "run-requested";

    /// <summary>The address to send jobs to (<see cref="JobQueueName"/>).</summary>
    public static Uri JobQueue { get; } = new($"queue:{JobQueueName}");

    /// <summary>The RabbitMQ address from configuration, or null for the in-memory transport.</summary>
    public static RabbitMqAddress? ReadRabbitMqAddress(IConfiguration configuration) =>
        configuration.GetConnectionString(RabbitMqConnectionStringName) is { Length: > 0 } connectionString
            ? RabbitMqAddress.Parse(connectionString)
            : null;

    /// <summary>
    /// Selects the transport. On RabbitMQ queues and messages are durable and every publish waits for the
    /// broker's confirmation, so a consumer that publishes a result and then returns (which acknowledges
    /// its message) never acknowledges a job whose result the broker does not hold.
    /// </summary>
    /// <remarks>
    /// Recovery after a broker restart is MassTransit's own reconnect, not RabbitMQ.Client's automatic
    /// recovery (MassTransit turns that off and rebuilds connection, channels and consumers itself). It is
    /// only reliable from MassTransit 8.5.12 on: 8.4.0 could keep lending its receive endpoints a connection
    /// the broker had closed, forever (the reason is beside the version pin in Directory.Packages.props).
    /// <see cref="ReceiveEndpointHealthCheck"/> reports an endpoint that still stays down so the process is
    /// restarted.
    /// </remarks>
    /// <param name="bus">The registration to configure.</param>
    /// <param name="rabbitMq">The broker, or null for in-memory.</param>
    /// <param name="connectionName">Shown in the broker's connection list (<c>iris-web</c>, <c>iris-worker</c>).</param>
    public static void UsingIrisTransport(this IBusRegistrationConfigurator bus, RabbitMqAddress? rabbitMq, string connectionName)
    {
        bus.SetKebabCaseEndpointNameFormatter();

        // MassTransit would otherwise post usage data to its vendor at start-up; a sandbox server has no
        // business calling out (and on a closed network the attempt only logs a stack trace).
        bus.DisableUsageTelemetry();
        if (rabbitMq is null)
        {
            bus.UsingInMemory((context, cfg) => cfg.ConfigureEndpoints(context));
            return;
        }

        bus.UsingRabbitMq((context, cfg) =>
        {
            cfg.Host(rabbitMq.Host, rabbitMq.Port, rabbitMq.VirtualHost, connectionName, h =>
            {
                h.Username(rabbitMq.UserName);
                h.Password(rabbitMq.Password);
                h.PublisherConfirmation = true;
                h.Heartbeat(TimeSpan.FromSeconds(10));
                if (rabbitMq.UseTls)
                {
                    h.UseSsl(s => s.ServerName = rabbitMq.Host);
                }
            });
            cfg.Durable = true;
            cfg.ConfigureEndpoints(context);
        });
    }
}

/// <summary>
/// A broker address in the AMQP URI form RabbitMQ documents:
/// <c>amqp[s]://user:password@host[:port][/virtual-host]</c>. The virtual host is URL-decoded
/// (<c>%2F</c> is <c>/</c>); without one it is <c>/</c>. User and password default to <c>guest</c>.
/// </summary>
public sealed record RabbitMqAddress(string Host, ushort Port, string VirtualHost, string UserName, string Password, bool UseTls)
{
    /// <summary>Throws <see cref="FormatException"/> with the reason for anything else.</summary>
    public static RabbitMqAddress Parse(string connectionString)
    {
        if (!Uri.TryCreate(connectionString, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            throw new FormatException("ConnectionStrings:RabbitMq must be an AMQP URI such as amqp://user:password@host:5672/vhost");
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("ConnectionStrings:RabbitMq has no host");
        }

        var tls = uri.Scheme == "amqps";
        var path = uri.AbsolutePath.TrimStart('/');
        if (path.Contains('/', StringComparison.Ordinal))
        {
            throw new FormatException("ConnectionStrings:RabbitMq: write a virtual host that contains '/' as %2F");
        }

        var virtualHost = path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
        var user = "guest";
        var password = "guest";
        if (uri.UserInfo.Length > 0)
        {
            var separator = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(separator < 0 ? uri.UserInfo : uri.UserInfo[..separator]);
            password = separator < 0 ? string.Empty : Uri.UnescapeDataString(uri.UserInfo[(separator + 1)..]);
        }

        var port = uri.IsDefaultPort || uri.Port < 0 ? (tls ? 5671 : 5672) : uri.Port;
        return new RabbitMqAddress(uri.Host, (ushort)port, virtualHost, user, password, tls);
    }

    /// <summary>The address without the password, for logs and messages.</summary>
    public override string ToString() => $"{(UseTls ? "amqps" : "amqp")}://{UserName}@{Host}:{Port}/{Uri.EscapeDataString(VirtualHost)}";
}
