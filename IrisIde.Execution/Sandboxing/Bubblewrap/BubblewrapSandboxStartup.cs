using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Prepares the sandbox when the host starts — the runs' parent cgroup with its limits (a crashed
/// server's leftover runs stop holding memory now rather than at the first run), the seccomp filter,
/// leftover processes of the uid range — and then sweeps again every
/// <see cref="BubblewrapOptions.SweepIntervalSeconds"/>: cgroups of servers that are gone, processes
/// of uids no run holds. A failure does not stop the host (it may serve pages, history, other
/// backends); it is logged here and every run reports it.
/// </summary>
internal sealed class BubblewrapSandboxStartup(IServiceProvider services, IOptions<BubblewrapOptions> options, ILogger<BubblewrapSandboxStartup> logger)
    : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Only when bubblewrap is the sandbox in use: a host may have registered another one.
        if (services.GetService<ISandbox>() is not BubblewrapSandbox sandbox)
        {
            return;
        }

        try
        {
            await sandbox.PrepareAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            BubblewrapSandboxLog.PreparationFailed(logger, exception);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sandbox = (BubblewrapSandbox)services.GetRequiredService<ISandbox>();
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SweepIntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await sandbox.SweepAsync(stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    BubblewrapSandboxLog.SweepFailed(logger, exception);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}
