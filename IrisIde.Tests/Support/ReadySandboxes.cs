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
}
