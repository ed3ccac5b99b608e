using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using IrisIde.Execution.Sessions.Docker;
using IrisIde.Tests.Protocol;

namespace IrisIde.Tests.Docker;

/// <summary>
/// A web app killed mid-session leaves its runner container behind; the next web app's reaper removes it,
/// because the owner named on its labels is a process of this host that no longer runs.
/// </summary>
[Trait("Needs", "Docker")]
[Collection(DockerReapers.Collection)]
public sealed class DockerReaperCrashTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task The_runner_of_a_web_app_killed_mid_session_is_removed_by_the_next_reaper()
    {
        var port = FreePort();
        var data = Path.Combine(Path.GetTempPath(), "iris-crash-" + Guid.NewGuid().ToString("N")[..8]);
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = AppContext.BaseDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "IrisIde.Web.dll"));
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Iris__DataDirectory"] = data;
        start.Environment["Iris__Auth__AllowAnonymousRuns"] = "true";
        // The app runs its start-up self-test in bubblewrap, and a killed app leaves what it had set up: no sandboxes
        // made ahead, and a uid range of its own, so nothing of it can pass for another test's leftover.
        start.Environment["Iris__Sandbox__WarmSandboxes"] = "0";
        start.Environment["Iris__Sandbox__Uid"] = "63600";
        start.Environment["Iris__Sandbox__UidCount"] = "16";
        start.Environment["Iris__Sandbox__CgroupParent"] = "iris-docker-crash-test";
        foreach (var (key, value) in DockerTestEngine.SessionSettings(poolSize: 0))
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        using var web = Process.Start(start)!;
        web.OutputDataReceived += (_, _) => { };
        web.ErrorDataReceived += (_, _) => { };
        web.BeginOutputReadLine();
        web.BeginErrorReadLine();
        var replica = DockerReplica.Describe(Environment.MachineName, web.Id, DockerReplica.StartTimeOf(web.Id));
        try
        {
            await WaitForHealthAsync(port);
            await using var client = await RunnerTestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"));
            await client.SendCodeAsync("python", "import time\nprint('up', flush=True)\ntime.sleep(300)\n");
            await client.WaitForStdoutAsync("up").WaitAsync(Timeout);
            Assert.Single(await DockerTestEngine.RunnersAsync(replica));

            web.Kill(entireProcessTree: true);
            await web.WaitForExitAsync().WaitAsync(Timeout);
            Assert.Single(await DockerTestEngine.RunnersAsync(replica));

            await using var next = DockerHostHarness.Create();
            await next.Reaper.ReapAsync(CancellationToken.None).WaitAsync(Timeout);

            Assert.Empty(await DockerTestEngine.RunnersAsync(replica));
        }
        finally
        {
            if (!web.HasExited)
            {
                web.Kill(entireProcessTree: true);
            }

            using var docker = DockerTestEngine.CreateClient();
            foreach (var left in await DockerTestEngine.RunnersAsync(replica))
            {
                await docker.Containers.RemoveContainerAsync(left.ID, new global::Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
            }

            Directory.Delete(data, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitForHealthAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz/live"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            Assert.True(DateTime.UtcNow < deadline, "the web app did not start");
            await Task.Delay(200);
        }
    }
}
