using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Docker.DotNet.Models;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;

namespace IrisIde.Tests.Docker;

/// <summary>
/// <c>deploy/docker-compose.yml</c> as shipped, brought up by Debian's <c>docker-compose</c> on the test dockerd with
/// the offline images (<c>deploy/build-offline-images.sh</c>): web, worker, RabbitMQ, PostgreSQL, and a runner
/// container per session on the internal runners network. The seed's <c>POST /run-code</c> example and an interactive
/// <c>/ws</c> session go through it; the web container killed and replaced leaves runners the new one's reaper
/// removes; and <c>down</c> leaves nothing behind.
/// </summary>
/// <remarks>
/// The one change to the file is Kata, which cannot run here: runners and workers use runc, and the override below
/// gives the worker container what its VM's own kernel would give it: bubblewrap's namespaces unfiltered by the
/// engine's seccomp profile, a /proc without the engine's masks (the kernel lets a new proc be mounted only where the
/// whole of one is visible; privileged mode would do it but needs capabilities this machine's own container lacks),
/// and a writable cgroup tree for the per-run cgroups, under a cgroup parent and uid range of its own, as one replica:
/// replicas sharing this host's cgroups and uids (rather than each its own VM) would take each other's sandboxes for a
/// crashed server's leftovers.
/// </remarks>
[Trait("Needs", "Docker")]
[Collection(DockerReapers.Collection)]
public sealed class DockerComposeDeploymentTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(4);

    private readonly string _project = "iristest" + Guid.NewGuid().ToString("N")[..8];
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "iris-compose-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int _port = FreePort();

    // One pair per deployment: the database keeps the password it was made with, so every compose call must pass the same.
    private readonly string _postgresPassword = "pg-" + Guid.NewGuid().ToString("N");
    private readonly string _rabbitMqPassword = "mq-" + Guid.NewGuid().ToString("N");

    private string RunnerNetwork => _project + "_runners";

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        File.WriteAllText(Path.Combine(_folder, "override.yml"), $$"""
            services:
              worker:
                deploy:
                  replicas: 1
                security_opt: [seccomp=unconfined, apparmor=unconfined]
                volumes: ["/sys/fs/cgroup:/sys/fs/cgroup:rw"]
                entrypoint:
                  - /bin/sh
                  - -c
                  - for m in $$(awk '$$5 ~ "^/proc/" {print $$5}' /proc/self/mountinfo | sort -r); do umount "$$m"; done; exec /usr/share/dotnet/dotnet /app/IrisIde.Worker.dll worker
                environment:
                  Iris__Sandbox__CgroupParent: {{_project}}
                  Iris__Sandbox__Uid: "63700"
                  Iris__Sandbox__UidCount: "64"
            """);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        // Whatever the test did, nothing of the project stays on the engine.
        await ComposeAsync(TimeSpan.FromMinutes(3), "down", "--volumes", "--remove-orphans", "--timeout", "30");
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task The_compose_file_runs_a_batch_job_and_a_session_reaps_after_a_killed_web_app_and_leaves_nothing_behind()
    {
        var up = await ComposeAsync(Timeout, "up", "--detach", "--no-build");
        Assert.True(up.Code == 0, "docker-compose up failed:\n" + up.Output);
        await WaitForReadyAsync();

        // An account and a token made with the web image's own admin command, as an operator would.
        var add = await ComposeAsync(Timeout, "exec", "-T", "web", "dotnet", "/app/IrisIde.Web.dll", "admin", "user", "add", "student@example.edu", "--role", "student");
        Assert.True(add.Code == 0, add.Output);
        var create = await ComposeAsync(Timeout, "exec", "-T", "web", "dotnet", "/app/IrisIde.Web.dll", "admin", "token", "create", "student@example.edu");
        Assert.True(create.Code == 0, create.Output);
        var token = create.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}"), Timeout = Timeout };
        http.DefaultRequestHeaders.Authorization = new("Bearer", token);

        // The seed's example, through the web app, RabbitMQ and a worker's sandbox.
        using var submitted = await http.PostAsJsonAsync("/run-code", new { language = "python", code = "print('Hello from Celery!')" });
        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);
        var taskId = (await submitted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task_id").GetString();
        var result = await WaitForResultAsync(http, taskId!);
        Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        Assert.Equal("Hello from Celery!\n", result.GetProperty("result").GetProperty("output").GetString());

        // An interactive session: the web app starts a runner container on the internal network and relays to it.
        var runners = new HashSet<string>(StringComparer.Ordinal);
        await using (var session = await RunnerTestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{_port}/ws"), new Dictionary<string, string> { ["Authorization"] = "Bearer " + token }))
        {
            await session.SendCodeAsync("python", "name = input()\nprint('hello, ' + name, flush=True)\n");
            var during = await RunnersOnNetworkAsync();
            Assert.NotEmpty(during);
            runners.UnionWith(during.Select(r => r.ID));
            await session.SendInputAsync("compose\n");
            await session.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("hello, compose\n", session.Text("stdout"));
            Assert.Equal(0, session.One("exit").GetProperty("return_code").GetInt32());
        }

        // The web container killed and replaced (as compose does on a new image): its waiting runners have no owner
        // any more, and the new web app's reaper, which cannot tell a process of another container, removes them
        // because their owner's container is gone.
        using var docker = DockerTestEngine.CreateClient();
        var web = await ServiceContainerAsync(docker, "web");
        var orphans = (await RunnersOnNetworkAsync()).Where(r => r.Labels.TryGetValue("iris.replica-container", out var owner) && owner == web).Select(r => r.ID).ToList();
        Assert.NotEmpty(orphans);
        await docker.Containers.KillContainerAsync(web, new ContainerKillParameters { Signal = "SIGKILL" });
        await docker.Containers.RemoveContainerAsync(web, new ContainerRemoveParameters { Force = true });
        Assert.Equal(orphans.Count, (await RunnersOnNetworkAsync()).Count(r => orphans.Contains(r.ID)));
        var replaced = await ComposeAsync(Timeout, "up", "--detach", "--no-build", "web");
        Assert.True(replaced.Code == 0, "docker-compose up web failed:\n" + replaced.Output);
        await WaitForReadyAsync();
        var deadline = DateTime.UtcNow + Timeout;
        while ((await RunnersOnNetworkAsync()).Any(r => orphans.Contains(r.ID)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
        }

        Assert.DoesNotContain(await RunnersOnNetworkAsync(), r => orphans.Contains(r.ID));
        runners.UnionWith(orphans);

        runners.UnionWith((await RunnersOnNetworkAsync()).Select(r => r.ID));
        var down = await ComposeAsync(Timeout, "down", "--volumes", "--remove-orphans", "--timeout", "30");
        Assert.True(down.Code == 0, "docker-compose down failed:\n" + down.Output);

        var projectFilter = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={_project}"] = true } };
        Assert.Empty(await docker.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = projectFilter }));
        Assert.Empty((await docker.Volumes.ListAsync(new VolumesListParameters { Filters = projectFilter })).Volumes ?? []);
        Assert.DoesNotContain(await docker.Networks.ListNetworksAsync(), n => n.Name.StartsWith(_project + "_", StringComparison.Ordinal));
        var left = (await DockerTestEngine.RunnersAsync()).Select(r => r.ID).ToHashSet(StringComparer.Ordinal);
        Assert.DoesNotContain(runners, left.Contains);
    }

    private async Task<string> ServiceContainerAsync(global::Docker.DotNet.DockerClient docker, string service)
    {
        var found = await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.compose.project={_project}"] = true, [$"com.docker.compose.service={service}"] = true },
            },
        });
        return Assert.Single(found).ID;
    }

    private async Task<IList<ContainerListResponse>> RunnersOnNetworkAsync()
    {
        using var docker = DockerTestEngine.CreateClient();
        return await docker.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { ["iris.app=iris-runner"] = true },
                ["network"] = new Dictionary<string, bool> { [RunnerNetwork] = true },
            },
        });
    }

    private async Task WaitForReadyAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var deadline = DateTime.UtcNow + Timeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync($"http://127.0.0.1:{_port}/healthz/ready");
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(1000);
        }

        var logs = await ComposeAsync(TimeSpan.FromMinutes(1), "logs", "--no-color", "--tail", "60");
        Assert.Fail($"the web app was not ready within {Timeout} (last: {last}); logs:\n{logs.Output}");
    }

    private static async Task<JsonElement> WaitForResultAsync(HttpClient http, string taskId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var result = await http.GetFromJsonAsync<JsonElement>($"/results/{taskId}");
            if (result.GetProperty("status").GetString() is not ("PENDING" or "STARTED") || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Runs docker-compose on the shipped file and the override, with the test engine and offline images.</summary>
    private async Task<(int Code, string Output)> ComposeAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("docker-compose") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])["--project-name", _project, "--file", RepositoryFiles.PathOf("deploy", "docker-compose.yml"), "--file", Path.Combine(_folder, "override.yml"), .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        var socket = new Uri(DockerTestEngine.Endpoint).AbsolutePath;
        var environment = start.Environment;
        environment["DOCKER_HOST"] = DockerTestEngine.Endpoint;
        environment["DOCKER_SOCKET"] = socket;
        environment["DOCKER_GID"] = await GroupOfAsync(socket);
        environment["POSTGRES_PASSWORD"] = _postgresPassword;
        environment["RABBITMQ_PASSWORD"] = _rabbitMqPassword;
        environment["IRIS_HTTP_BIND"] = "127.0.0.1";
        environment["IRIS_HTTP_PORT"] = _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["IRIS_RUNNER_RUNTIME"] = "runc";
        environment["IRIS_WORKER_RUNTIME"] = "runc";
        environment["IRIS_RUNNER_NETWORK"] = RunnerNetwork;
        environment["IRIS_RUNNER_IMAGE"] = DockerTestEngine.RunnerImage;
        foreach (var (variable, testVariable) in OfflineImages)
        {
            environment[variable] = TestServices.Required(testVariable);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"docker-compose {string.Join(' ', arguments)} did not finish within {timeout}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>The group id of a file (the engine socket's, which the web container is given to reach it).</summary>
    private static async Task<string> GroupOfAsync(string path)
    {
        var start = new ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        var gid = (await process.StandardOutput.ReadToEndAsync()).Trim();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? gid : throw new InvalidOperationException($"stat {path} failed");
    }

    private static readonly (string Variable, string TestVariable)[] OfflineImages =
    [
        ("IRIS_WEB_IMAGE", "IRIS_TEST_WEB_IMAGE"),
        ("IRIS_WORKER_IMAGE", "IRIS_TEST_WORKER_IMAGE"),
        ("IRIS_RABBITMQ_IMAGE", "IRIS_TEST_RABBITMQ_IMAGE"),
        ("IRIS_POSTGRES_IMAGE", "IRIS_TEST_POSTGRES_IMAGE"),
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
