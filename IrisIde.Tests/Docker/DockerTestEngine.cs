using Docker.DotNet;
using Docker.DotNet.Models;
using IrisIde.Tests.Support;

namespace IrisIde.Tests.Docker;

/// <summary>
/// The test dockerd <c>./iris test</c> starts (<c>IRIS_TEST_DOCKER</c>) and the runner image it builds
/// (<c>IRIS_TEST_RUNNER_IMAGE</c>): settings for the app, and a client to look at what the app left.
/// </summary>
public static class DockerTestEngine
{
    public static string Endpoint => TestServices.Required(TestServices.DockerVariable);

    public static string RunnerImage => TestServices.Required(TestServices.RunnerImageVariable);

    /// <summary>The settings of a web app whose sessions run on runner containers of the test dockerd.</summary>
    public static Dictionary<string, string?> SessionSettings(string runtime = "runc", int poolSize = 1) => new()
    {
        ["Iris:Sessions:Host"] = "Docker",
        ["Iris:Docker:Endpoint"] = Endpoint,
        ["Iris:Docker:Runtime"] = runtime,
        ["Iris:Sessions:Docker:Image"] = RunnerImage,
        ["Iris:Sessions:Docker:PoolSize"] = poolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        // No growth with demand unless a test asks for it: a runner started for the pool behind a test's back
        // would be counted as the session's, or outlive the test's "nothing left" check.
        ["Iris:Sessions:Docker:MaxPoolSize"] = poolSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Iris:Sessions:Docker:SocketDirectory"] = Path.Combine(Path.GetTempPath(), "iris-test-runners-" + Guid.NewGuid().ToString("N")[..8]),
        // gVisor counts its own threads against the pids limit.
        ["Iris:Sessions:Docker:PidsLimit"] = runtime == "runsc" ? "1024" : "512",
    };

    public static DockerClient CreateClient() => new DockerClientBuilder().WithEndpoint(new Uri(Endpoint)).WithApiVersion(new System.Version(1, 41)).Build();

    /// <summary>
    /// Whether a process whose command line (arguments joined by spaces) contains <paramref name="commandLine"/> runs in
    /// any runner container, looked for in each one's own <c>/proc</c> through <c>docker exec</c>: under gVisor the
    /// host's /proc does not show them. A runner that is gone, or going, holds no program any more.
    /// </summary>
    public static async Task<bool> AnyRunnerRunsAsync(string commandLine, string? replica = null)
    {
        using var client = CreateClient();
        foreach (var runner in await RunnersAsync(replica))
        {
            try
            {
                var exec = await client.Exec.CreateContainerExecAsync(runner.ID, new ContainerExecCreateParameters
                {
                    Cmd = ["/bin/sh", "-c", "for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < \"$f\"; echo; done"],
                    AttachStdout = true,
                    AttachStderr = true,
                }, CancellationToken.None);
                using var stream = await client.Exec.StartContainerExecAsync(exec.ID, new ContainerExecStartParameters(), CancellationToken.None);
                var (stdout, _) = await stream.ReadOutputToEndAsync(CancellationToken.None);
                if (stdout.Contains(commandLine, StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (DockerApiException e) when (e.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict)
            {
                // Removed, or stopping, since it was listed.
            }
        }

        return false;
    }

    /// <summary>Runner containers (any state) whose <c>iris.replica</c> label is <paramref name="replica"/>, or all runner containers.</summary>
    public static async Task<IList<ContainerListResponse>> RunnersAsync(string? replica = null)
    {
        using var client = CreateClient();
        var labels = new Dictionary<string, bool> { ["iris.app=iris-runner"] = true };
        if (replica is not null)
        {
            labels[$"iris.replica={replica}"] = true;
        }

        return await client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = labels },
        });
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the runners of <paramref name="replica"/>; returns the last list.</summary>
    public static async Task<IList<ContainerListResponse>> WaitForRunnersAsync(string? replica, Func<IList<ContainerListResponse>, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var runners = await RunnersAsync(replica);
            if (condition(runners) || DateTime.UtcNow > deadline)
            {
                return runners;
            }

            await Task.Delay(100);
        }
    }
}
