using IrisIde.Execution;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Docker;
using IrisIde.Tests.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Docker;

/// <summary>
/// The execution layer with <c>Iris:Sessions:Host=Docker</c> on the test dockerd, without the web app: the
/// configured (admitted, metered) host, the Docker host itself, its pool and its reaper. Disposing removes
/// whatever runner containers its replica still has.
/// </summary>
internal sealed class DockerHostHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private DockerHostHarness(ServiceProvider services)
    {
        _services = services;
        Host = services.GetRequiredService<ISessionHost>();
        Docker = services.GetRequiredService<DockerSessionHost>();
        Pool = services.GetRequiredService<DockerRunnerPool>();
        Reaper = services.GetRequiredService<DockerRunnerReaper>();
        Replica = services.GetRequiredService<DockerReplica>().Id;
    }

    public ISessionHost Host { get; }

    public DockerSessionHost Docker { get; }

    public DockerRunnerPool Pool { get; }

    public DockerRunnerReaper Reaper { get; }

    public string Replica { get; }

    public static DockerHostHarness Create(IReadOnlyDictionary<string, string?>? overrides = null, string runtime = "runc", int poolSize = 0)
    {
        var settings = new Dictionary<string, string?>(ProtocolTestSandbox.Settings);
        foreach (var (key, value) in DockerTestEngine.SessionSettings(runtime, poolSize))
        {
            settings[key] = value;
        }

        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        return new DockerHostHarness(services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true }));
    }

    public async ValueTask DisposeAsync()
    {
        var socketRoot = _services.GetRequiredService<DockerRunnerFactory>().SocketRoot;
        await _services.DisposeAsync();
        // Each harness has a socket root of its own; the runners' folders in it went with them.
        if (Directory.Exists(socketRoot))
        {
            Directory.Delete(socketRoot, recursive: true);
        }

        // Whatever a failed test left of this replica goes too, so one failure does not leak containers.
        using var client = DockerTestEngine.CreateClient();
        foreach (var runner in await DockerTestEngine.RunnersAsync(Replica))
        {
            await client.Containers.RemoveContainerAsync(runner.ID, new global::Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        }
    }
}
