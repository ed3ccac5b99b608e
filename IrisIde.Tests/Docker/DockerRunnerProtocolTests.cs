using IrisIde.Execution.Sessions.Docker;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Docker;

/// <summary>The web app with its sessions on runner containers (runc) of the test dockerd.</summary>
public class DockerWebAppFixture : IrisWebAppFixture
{
    private Dictionary<string, string?>? _settings;

    // Made once, on first use: the socket folder in it must be the same when the fixture cleans up.
    protected override IReadOnlyDictionary<string, string?> Settings => _settings ??= DockerTestEngine.SessionSettings(Runtime, poolSize: 2);

    /// <summary>The OCI runtime of the runner containers.</summary>
    protected virtual string Runtime => "runc";

    /// <summary>Stops the app, then fails the class if any runner container of it is left (waiting, starting or used).</summary>
    public override async Task DisposeAsync()
    {
        var replica = App.Services.GetRequiredService<DockerReplica>().Id;
        var socketRoot = Settings["Iris:Sessions:Docker:SocketDirectory"]!;
        var pool = App.Services.GetRequiredService<DockerRunnerPool>();
        await base.DisposeAsync();
        // The factory's disposal of the host can return while the app's entry point, which disposes the host too, is
        // still removing runners: the stop is over when the pool's disposal (the same one, awaited again) is.
        await pool.DisposeAsync();
        if (Directory.Exists(socketRoot))
        {
            Directory.Delete(socketRoot, recursive: true);
        }

        var left = await DockerTestEngine.RunnersAsync(replica);
        if (left.Count > 0)
        {
            using var client = DockerTestEngine.CreateClient();
            foreach (var runner in left)
            {
                try
                {
                    await client.Containers.RemoveContainerAsync(runner.ID, new global::Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
                }
                catch (global::Docker.DotNet.DockerContainerNotFoundException)
                {
                    // Removed since it was listed (by the app, late): it was still left when the app had stopped.
                }
                catch (global::Docker.DotNet.DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict)
                {
                    // Its removal is still in progress (by the app, late): the same.
                }
            }

            throw new InvalidOperationException($"The stopped web app left {left.Count} runner container(s): {string.Join(", ", left.Select(r => r.Names.FirstOrDefault()))}");
        }
    }
}

/// <summary>The whole iris-runner protocol suite, each session relayed to a runner container of its own.</summary>
[Trait("Needs", "Docker")]
public sealed class DockerRunnerProtocolTests(DockerWebAppFixture fixture) : RunnerProtocolSuite(fixture), IClassFixture<DockerWebAppFixture>;

/// <summary>The web app with its sessions on runner containers under gVisor (<c>runsc</c>).</summary>
public sealed class GVisorWebAppFixture : DockerWebAppFixture
{
    protected override string Runtime => "runsc";
}

/// <summary>
/// The whole protocol suite again, each runner under gVisor: its own kernel between the runner (and the student's
/// program) and the host's.
/// </summary>
[Trait("Needs", "Docker")]
public sealed class GVisorRunnerProtocolTests(GVisorWebAppFixture fixture) : RunnerProtocolSuite(fixture), IClassFixture<GVisorWebAppFixture>
{
    /// <summary>
    /// gVisor's processes are not in the host's /proc: the sleep is looked for in every runner container's own
    /// /proc (through <c>docker exec</c>). A runner that is gone, or going, holds no program any more.
    /// </summary>
    protected override Task<bool> SleepRunningAsync(string marker) => DockerTestEngine.AnyRunnerRunsAsync($"sleep {marker}");
}
