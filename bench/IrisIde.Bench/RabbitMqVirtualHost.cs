using System.Diagnostics;

namespace IrisIde.Bench;

/// <summary>
/// A fresh RabbitMQ vhost on the loopback broker <c>./iris bench</c> starts, made with <c>rabbitmqctl</c>
/// and deleted (queues and all) on dispose, so no job of an earlier or concurrent run is in the figures.
/// </summary>
internal sealed class RabbitMqVirtualHost(string name) : IAsyncDisposable
{
    private const string Broker = "amqp://guest:guest@127.0.0.1:5672";

    /// <summary>The connection string for <c>ConnectionStrings__RabbitMq</c>.</summary>
    public string ConnectionString => $"{Broker}/{name}";

    public static async Task<RabbitMqVirtualHost> CreateAsync(CancellationToken cancellationToken)
    {
        var name = $"iris-bench-{Guid.NewGuid():N}";
        await RabbitMqCtlAsync(["add_vhost", name], cancellationToken);
        var vhost = new RabbitMqVirtualHost(name);
        try
        {
            await RabbitMqCtlAsync(["set_permissions", "-p", name, "guest", ".*", ".*", ".*"], cancellationToken);
            return vhost;
        }
        catch
        {
            await vhost.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync() => await RabbitMqCtlAsync(["delete_vhost", name], CancellationToken.None);

    private static async Task RabbitMqCtlAsync(string[] arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("rabbitmqctl")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("-q");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"rabbitmqctl {string.Join(' ', arguments)} failed (exit {process.ExitCode}); is RabbitMQ running on 127.0.0.1? ./iris bench starts it as root. {await output}{await error}");
        }
    }
}
