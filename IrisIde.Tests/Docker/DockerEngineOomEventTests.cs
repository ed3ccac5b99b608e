using Docker.DotNet.Models;
using IrisIde.Execution.Sessions.Docker;

namespace IrisIde.Tests.Docker;

/// <summary>
/// The engine's event log as a second witness of an out-of-memory kill, for a sandbox that died without the
/// program's status and without Docker's OOMKilled flag (the OOM event reached Docker after the exit).
/// </summary>
[Trait("Needs", "Docker")]
public sealed class DockerEngineOomEventTests : IDisposable
{
    private readonly DockerEngine _engine = new(Microsoft.Extensions.Options.Options.Create(new DockerOptions { Endpoint = DockerTestEngine.Endpoint }));

    public void Dispose() => _engine.Dispose();

    [Theory]
    [InlineData("a = []\nwhile True: a.append('x' * 10_000_000)\n", true)] // the kernel killed it at its memory limit
    [InlineData("import sys\nsys.exit(137)\n", false)] // it ended by itself, with the same exit code
    public async Task Only_a_container_the_kernel_killed_at_its_memory_limit_has_an_oom_event(string program, bool expected)
    {
        var since = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(2);
        var id = await RunToEndAsync(program);
        try
        {
            Assert.Equal(expected, await _engine.ReportedOutOfMemoryAsync(id, since, TimeSpan.FromSeconds(1), CancellationToken.None));
        }
        finally
        {
            await _engine.RemoveContainerAsync(id, CancellationToken.None);
        }
    }

    /// <summary>Runs Python as the container's own process (no shell to write a status) under a 64 MiB limit.</summary>
    private async Task<string> RunToEndAsync(string program)
    {
        var created = await _engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEngine.RunnerImage,
            Entrypoint = ["python3", "-c", program],
            Labels = new Dictionary<string, string> { ["iris.test"] = nameof(DockerEngineOomEventTests) },
            HostConfig = new HostConfig { Memory = 64L << 20, MemorySwap = 64L << 20, NetworkMode = "none" },
        });
        await _engine.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        var exit = await _engine.Client.Containers.WaitContainerAsync(created.ID).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(137, exit.StatusCode);
        return created.ID;
    }
}
