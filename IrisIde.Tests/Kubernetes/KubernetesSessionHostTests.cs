using System.Globalization;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Kubernetes;
using IrisIde.Tests.Docker;
using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// <c>Iris:Sessions:Host=Kubernetes</c> end to end against the in-test API server (no cluster can run here), whose
/// kubelet runs each runner pod as a real <c>IrisIde.Worker runner</c> process: a fresh pod per session made from the
/// deploy files' template, ready through a watch, deleted whichever side ends the session; the pool and its cap; and
/// each way a pod can fail to serve, with the reason named.
/// </summary>
public sealed class KubernetesSessionHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:k8s-test", "k8s-test", null, SessionSurface.WebSocket);

    [Fact]
    public async Task A_session_runs_on_a_fresh_runner_pod_of_its_own_which_is_deleted_when_the_session_ends()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();

        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("name = input()\nprint('hello ' + name)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);

        var pod = Assert.Single(harness.RunnerPods());
        Assert.Equal(KubernetesHostHarness.Namespace, pod.Metadata.NamespaceProperty);
        Assert.StartsWith("iris-runner-", pod.Metadata.Name, StringComparison.Ordinal);
        Assert.Equal(harness.Replica, pod.Metadata.Labels["iris.dev/replica"]);
        Assert.Equal(Owner.Key, pod.Metadata.Annotations["iris.dev/owner"]);
        Assert.True(long.Parse(pod.Metadata.Labels["iris.dev/expires"], CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Equal("kata", pod.Spec.RuntimeClassName);
        Assert.False(pod.Spec.AutomountServiceAccountToken);
        var token = Assert.Single(pod.Spec.Containers[0].Env, e => e.Name == "Iris__Runner__AccessToken").Value;
        Assert.Equal(64, token.Length);
        Assert.NotNull(harness.Server.Kubelet.RunnerProcessId(pod.Metadata.Name, KubernetesHostHarness.Namespace));

        // The readiness wait watched the pod; it did not poll it.
        var podRequests = harness.Server.Requests.Where(r => r.Path.EndsWith("/pods", StringComparison.Ordinal) && r.Method == "GET").ToList();
        Assert.Contains(podRequests, r => r.Query.Contains("watch=true", StringComparison.Ordinal) && r.Query.Contains("fieldSelector=metadata.name", StringComparison.Ordinal));
        Assert.DoesNotContain(harness.Server.Requests, r => r.Method == "GET" && r.Path.EndsWith("/pods/" + pod.Metadata.Name, StringComparison.Ordinal));

        Assert.True(await session.WriteInputAsync("kubernetes\n", CancellationToken.None));
        var (output, outcome) = await DockerSessionHostTests.ReadToEndAsync(session);
        Assert.Equal("hello kubernetes\n", output);
        Assert.Equal(Verdict.Ok, outcome.Verdict);
        await session.DisposeAsync();

        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
    }

    [Fact]
    public async Task A_runner_pod_answers_only_with_its_own_token()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await DockerSessionHostTests.ReadUntilAsync(session, "up");
        var pod = Assert.Single(harness.RunnerPods());
        var address = new Uri($"http://{pod.Status.PodIP}:8080/");

        using var http = new HttpClient { BaseAddress = address };
        using var languages = await http.GetAsync(new Uri("languages", UriKind.Relative));
        using var health = await http.GetAsync(new Uri("healthz", UriKind.Relative));

        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, languages.StatusCode);
        Assert.True(health.IsSuccessStatusCode);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task The_client_ending_a_running_session_deletes_the_pod_and_its_runner_process()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await DockerSessionHostTests.ReadUntilAsync(session, "up");
        var pod = Assert.Single(harness.RunnerPods());
        var pid = harness.Server.Kubelet.RunnerProcessId(pod.Metadata.Name, KubernetesHostHarness.Namespace)!.Value;

        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(Verdict.Killed, (await session.Completion.WaitAsync(Timeout)).Verdict);
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
        Assert.Contains(harness.Server.Requests, r => r.Method == "DELETE" && r.Path.EndsWith("/pods/" + pod.Metadata.Name, StringComparison.Ordinal));
        await KubernetesHostHarness.WaitUntilAsync(() => !ProcessExists(pid), "the deleted pod's runner process to exit");
    }

    [Fact]
    public async Task A_runner_killed_mid_session_ends_the_session_as_an_internal_error_and_its_pod_is_deleted()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await DockerSessionHostTests.ReadUntilAsync(session, "up");
        var pod = Assert.Single(harness.RunnerPods());

        await harness.Server.Kubelet.KillRunnerAsync(pod.Metadata.Name, KubernetesHostHarness.Namespace);

        Assert.Equal(Verdict.InternalError, (await session.Completion.WaitAsync(Timeout)).Verdict);
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task A_pod_deleted_by_someone_else_mid_session_ends_the_session_as_an_internal_error()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await DockerSessionHostTests.ReadUntilAsync(session, "up");
        var pod = Assert.Single(harness.RunnerPods());

        using (var client = harness.Server.CreateClient())
        {
            await k8s.CoreV1OperationsExtensions.DeleteNamespacedPodAsync(client.CoreV1, pod.Metadata.Name, KubernetesHostHarness.Namespace);
        }


        Assert.Equal(Verdict.InternalError, (await session.Completion.WaitAsync(Timeout)).Verdict);
        await session.DisposeAsync();
        Assert.Empty(harness.RunnerPods());
    }

    [Fact]
    public async Task A_session_takes_a_waiting_pod_that_is_never_used_again_and_the_pool_refills_with_fresh_ones()
    {
        await using var harness = await KubernetesHostHarness.StartAsync(poolSize: 2);
        harness.Pool.Replenish();
        await KubernetesHostHarness.WaitUntilAsync(() => harness.Pool.Ready == 2, "two waiting runner pods");
        var before = harness.RunnerPods().Select(p => p.Metadata.Name).ToHashSet();
        Assert.Equal(2, before.Count);

        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("print('pooled')\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var (output, _) = await DockerSessionHostTests.ReadToEndAsync(session);
        await session.DisposeAsync();
        Assert.Equal("pooled\n", output);

        // The session's pod was one of the waiting ones, it is gone, and a fresh one took its place.
        var after = await harness.WaitForPodsAsync(p => p.Count == 2 && p.Count(x => before.Contains(x.Metadata.Name)) == 1, Timeout);
        Assert.Single(after, p => !before.Contains(p.Metadata.Name));
        await KubernetesHostHarness.WaitUntilAsync(() => harness.Pool.Ready == 2, "the pool to be full again");
    }

    [Fact]
    public async Task A_second_stop_of_the_pool_returns_only_once_the_first_has_deleted_every_pod()
    {
        // The web app's host is disposed twice at once when it stops (its entry point and its owner): whichever returns
        // first, nothing of the pool may be left by then.
        // Slow deletes: a second stop that does not wait for the first finds both pods still there.
        var serverOptions = KubernetesHostHarness.ServerOptions() with { DeleteDelay = TimeSpan.FromMilliseconds(500) };
        await using var harness = await KubernetesHostHarness.StartAsync(poolSize: 2, serverOptions: serverOptions);
        harness.Pool.Replenish();
        await KubernetesHostHarness.WaitUntilAsync(() => harness.Pool.Ready == 2, "two waiting runner pods");

        var first = harness.Pool.DisposeAsync().AsTask();
        await harness.Pool.DisposeAsync();

        Assert.Empty(harness.RunnerPods());
        await first;
    }

    [Fact]
    public async Task Past_the_cap_a_session_is_refused_before_any_pod_is_made()
    {
        await using var harness = await KubernetesHostHarness.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Iris:Sessions:Kubernetes:MaxRunners"] = "1",
        });
        var first = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("import time\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var creates = harness.Server.Requests.Count(r => r.Method == "POST");

        var refused = await Assert.ThrowsAsync<SessionRefusedException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner with { Key = "user:other" }, CancellationToken.None));

        Assert.Equal(AdmissionRefusal.AtCapacity, refused.Refusal);
        Assert.Equal(creates, harness.Server.Requests.Count(r => r.Method == "POST"));
        await first.DisposeAsync();
    }

    [Fact]
    public async Task An_image_that_cannot_be_pulled_fails_the_start_with_the_image_named_and_leaves_no_pod()
    {
        await using var harness = await KubernetesHostHarness.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Iris:Sessions:Kubernetes:Image"] = "registry.invalid/iris-runner:missing",
        });

        var failed = await Assert.ThrowsAsync<KubernetesUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None)).WaitAsync(Timeout);

        Assert.Equal(KubernetesFailure.ImagePull, failed.Kind);
        Assert.Contains("registry.invalid/iris-runner:missing", failed.Message, StringComparison.Ordinal);
        Assert.Contains("ErrImagePull", failed.Message, StringComparison.Ordinal);
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
    }

    [Fact]
    public async Task A_pod_no_node_can_take_fails_the_start_as_unschedulable_with_the_schedulers_reason()
    {
        // Less than the template's request of 200m.
        await using var harness = await KubernetesHostHarness.StartAsync(serverOptions: KubernetesHostHarness.ServerOptions() with { NodeAllocatableCpu = new ResourceQuantity("100m") });

        var failed = await Assert.ThrowsAsync<KubernetesUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None)).WaitAsync(Timeout);

        Assert.Equal(KubernetesFailure.Unschedulable, failed.Kind);
        Assert.Contains("Insufficient cpu", failed.Message, StringComparison.Ordinal);
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
    }

    [Fact]
    public async Task A_pod_that_never_gets_ready_fails_the_start_after_the_timeout_and_is_deleted()
    {
        await using var harness = await KubernetesHostHarness.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Iris:Sessions:Kubernetes:ReadyTimeoutSeconds"] = "3",
        });
        harness.Server.Kubelet.NeverReady = true;

        var failed = await Assert.ThrowsAsync<KubernetesUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None)).WaitAsync(Timeout);

        Assert.Equal(KubernetesFailure.NotReady, failed.Kind);
        Assert.Contains("did not get ready within 3 s", failed.Message, StringComparison.Ordinal);
        Assert.Contains("Ready=False", failed.Message, StringComparison.Ordinal);
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
    }

    [Fact]
    public async Task An_api_server_that_does_not_answer_fails_the_start_with_its_address_named()
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        await harness.Server.StopAsync();

        var failed = await Assert.ThrowsAsync<KubernetesUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None)).WaitAsync(Timeout);

        Assert.Equal(KubernetesFailure.Unreachable, failed.Kind);
        Assert.Contains(harness.Server.BaseAddress.Authority, failed.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("break")]
    [InlineData("compact")]
    [InlineData("restart")]
    public async Task A_watch_broken_mid_wait_goes_on_and_the_session_still_starts(string how)
    {
        await using var harness = await KubernetesHostHarness.StartAsync();
        // Held back from ready until the watch is broken: the start has to survive the break to see it.
        harness.Server.Kubelet.NeverReady = true;
        var start = harness.Host.StartAsync(DockerSessionHostTests.Interactive("print('after the break')\n"), Owner, CancellationToken.None);
        await KubernetesHostHarness.WaitUntilAsync(() => harness.Server.OpenWatches > 0 && harness.RunnerPods().Any(p => p.Status?.Phase == "Running"), "the start to watch a running pod");
        var watchesBefore = harness.Server.Requests.Count(r => r.Query.Contains("watch=true", StringComparison.Ordinal));

        switch (how)
        {
            case "break":
                harness.Server.BreakWatches();
                break;
            case "compact":
                // While the API server is away the pod gets ready and the history is compacted past the version the
                // watch would resume from: the next watch gets 410 Gone, and the pod is read afresh.
                await harness.Server.StopAsync();
                harness.Server.Kubelet.NeverReady = false;
                await KubernetesHostHarness.WaitUntilAsync(() => harness.RunnerPods().Any(p => p.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true), "the pod to get ready while the API server is away");
                harness.Server.Compact();
                await harness.Server.RestartAsync();
                break;
            case "restart":
                await harness.Server.RestartAsync();
                break;
        }

        harness.Server.Kubelet.NeverReady = false;
        var session = await start.WaitAsync(Timeout);
        var (output, _) = await DockerSessionHostTests.ReadToEndAsync(session);
        await session.DisposeAsync();

        Assert.Equal("after the break\n", output);
        Assert.True(harness.Server.Requests.Count(r => r.Query.Contains("watch=true", StringComparison.Ordinal)) > watchesBefore, "the start watched again after the break");
        if (how == "compact")
        {
            // 410 Gone: the pod was read afresh (the one read of it by name) before watching again.
            Assert.Contains(harness.Server.Requests, r => r.Method == "GET" && r.Path.Contains("/pods/iris-runner-", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_reaper_deletes_the_pods_of_a_crashed_web_app_and_expired_ones_but_not_a_live_replicas()
    {
        await using var server = await TestKubernetesApiServer.StartAsync(KubernetesHostHarness.ServerOptions());
        await using var crashed = await KubernetesHostHarness.StartAsync(poolSize: 1, server: server);
        await using var alive = await KubernetesHostHarness.StartAsync(poolSize: 1, server: server);
        await using var survivor = await KubernetesHostHarness.StartAsync(server: server);
        // The live replica's own pod exists (it is a web pod of the deployment); the crashed one's does not any more.
        server.AddExistingPod(new V1Pod
        {
            Metadata = new V1ObjectMeta { Name = alive.Replica, NamespaceProperty = KubernetesHostHarness.Namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/component"] = "web" } },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "web", Image = "iris-web:test" }] },
            Status = new V1PodStatus { Phase = "Running" },
        });
        crashed.Pool.Replenish();
        alive.Pool.Replenish();
        await KubernetesHostHarness.WaitUntilAsync(() => crashed.Pool.Ready == 1 && alive.Pool.Ready == 1, "a waiting pod of each replica");
        var orphan = Assert.Single(crashed.RunnerPods()).Metadata.Name;
        var kept = Assert.Single(alive.RunnerPods()).Metadata.Name;
        crashed.Crash();

        // A pod whose expiry passed goes whoever owns it (here: a replica that cannot be judged from its name).
        var expired = server.AddExistingPod(new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "iris-runner-expired0000000",
                NamespaceProperty = KubernetesHostHarness.Namespace,
                Labels = new Dictionary<string, string>
                {
                    ["iris.dev/runner"] = "expired0000000",
                    ["iris.dev/replica"] = "Not_A_Pod_Name",
                    ["iris.dev/expires"] = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                },
            },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "runner", Image = "iris-runner:test" }] },
            Status = new V1PodStatus { Phase = "Running" },
        });

        var deleted = await survivor.Reaper.ReapAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(2, deleted);
        var left = KubernetesHostHarness.RunnerPods(server).Select(p => p.Metadata.Name).ToList();
        Assert.DoesNotContain(orphan, left);
        Assert.DoesNotContain(expired.Metadata.Name, left);
        Assert.Contains(kept, left);
    }

    [Fact]
    public async Task The_reaper_leaves_pods_its_own_pool_holds_and_deletes_its_own_stopped_ones()
    {
        await using var harness = await KubernetesHostHarness.StartAsync(poolSize: 1);
        harness.Pool.Replenish();
        await KubernetesHostHarness.WaitUntilAsync(() => harness.Pool.Ready == 1, "a waiting pod");
        var held = Assert.Single(harness.RunnerPods()).Metadata.Name;
        var stopped = harness.Server.AddExistingPod(new V1Pod
        {
            Metadata = new V1ObjectMeta
            {
                Name = "iris-runner-stopped000000",
                NamespaceProperty = KubernetesHostHarness.Namespace,
                Labels = new Dictionary<string, string>
                {
                    ["iris.dev/runner"] = "stopped000000",
                    ["iris.dev/replica"] = harness.Replica,
                    ["iris.dev/expires"] = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
                },
            },
            Spec = new V1PodSpec { Containers = [new V1Container { Name = "runner", Image = "iris-runner:test" }] },
            Status = new V1PodStatus { Phase = "Failed" },
        });

        Assert.Equal(1, await harness.Reaper.ReapAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal([held], harness.RunnerPods().Select(p => p.Metadata.Name));
        Assert.DoesNotContain(harness.Server.Pods, p => p.Metadata.Name == stopped.Metadata.Name);
    }

    private static bool ProcessExists(int pid) => Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}");
}
