using IrisIde.Execution.Runs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Workspaces;

/// <summary>
/// Sweeps the workspace root at start-up and then every <see cref="ExecutionOptions.WorkspaceSweepSeconds"/>:
/// what crashed server instances left, and this instance's own removals that failed (<see cref="WorkspaceArea.Sweep"/>).
/// </summary>
internal sealed class WorkspaceSweeper(WorkspaceArea area, IOptions<ExecutionOptions> options, TimeProvider time, ILogger<WorkspaceSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off the start-up path: a large leftover must not delay the server's start.
        await Task.Yield();
        var interval = TimeSpan.FromSeconds(options.Value.WorkspaceSweepSeconds);
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                try
                {
                    area.Sweep();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
                {
                    WorkspaceLog.SweepFailed(logger, interval.TotalSeconds, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
