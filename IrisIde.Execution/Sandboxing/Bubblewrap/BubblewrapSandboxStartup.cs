using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Prepares the runs' parent cgroup when the host starts, so that a crashed server's leftover runs
/// stop holding memory now rather than at the first run, and the parent's limits are in place before
/// any run. A failure does not stop the host (it may serve pages, history, other backends); it is
/// logged here and every run reports it.
/// </summary>
internal sealed class BubblewrapSandboxStartup(IServiceProvider services, ILogger<BubblewrapSandboxStartup> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
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
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
