using Microsoft.Extensions.Hosting;

namespace IrisIde.Execution.Sessions.Runners;

/// <summary>
/// The reaper's schedule, shared by the backends: a pass at start-up and every interval (the backend's removal of what
/// no live web app owns, then the pool's upkeep); a pass the backend cannot make is reported and tried again next time.
/// </summary>
internal abstract class RunnerReaper(TimeSpan interval, TimeProvider time) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    /// <summary>One pass: remove orphaned and expired runners, then keep the pool.</summary>
    protected abstract Task PassAsync(CancellationToken cancellationToken);

    /// <summary>Reports a pass that failed because the backend did not answer or refused.</summary>
    protected abstract void PassFailed(RunnerBackendException failure);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PassAsync(stoppingToken);
            }
            catch (RunnerBackendException e)
            {
                PassFailed(e);
            }

            try
            {
                await Task.Delay(interval, Time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
