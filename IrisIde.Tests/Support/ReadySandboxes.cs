using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Support;

/// <summary>
/// The sandboxes a host keeps set up for its next runs hold processes of the uid range; a check that
/// nothing of a run is left ends them first (and so also checks that ending them leaves nothing).
/// </summary>
internal static class ReadySandboxes
{
    public static Task DiscardAsync(IServiceProvider services) =>
        services.GetService<ISandbox>() is BubblewrapSandbox sandbox ? sandbox.DiscardReadyAsync() : Task.CompletedTask;

    /// <summary>
    /// <see cref="HostProcesses.RemainingAfterAsync"/> for a host whose runs are still ending: each run
    /// that ends makes a ready sandbox for the next, so those are ended on every look, not once.
    /// </summary>
    public static async Task<IReadOnlyList<string>> RemainingAfterAsync(IServiceProvider services, int uid, TimeSpan grace, int count)
    {
        var deadline = DateTime.UtcNow + grace;
        IReadOnlyList<string> left;
        do
        {
            await DiscardAsync(services);
            left = HostProcesses.LiveOwnedBy(uid, count);
            if (left.Count == 0)
            {
                return left;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return left;
    }
}
