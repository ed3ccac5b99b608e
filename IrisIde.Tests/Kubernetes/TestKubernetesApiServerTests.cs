using System.Globalization;
using System.Net;
using System.Net.Sockets;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// The test API server answers the real <c>KubernetesClient</c> as kube-apiserver does for the pod calls a session
/// host makes: the objects, versions and errors it returns, what its watches replay and stream, and how a compacted,
/// dropped or restarted server reaches the client.
/// </summary>
public sealed class TestKubernetesApiServerTests : IAsyncLifetime
{
    private const string Namespace = "iris";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private TestKubernetesApiServer? _server;
    private k8s.Kubernetes? _client;

    private TestKubernetesApiServer Server => _server!;

    private k8s.Kubernetes Client => _client!;

    public async Task InitializeAsync()
    {
        _server = await TestKubernetesApiServer.StartAsync();
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task Create_get_list_and_delete_round_trip_a_pod_with_the_fields_the_server_sets()
    {
        var created = await Client.CoreV1.CreateNamespacedPodAsync(Pod(generateName: "runner-"), Namespace).WaitAsync(Timeout);
        var got = await Client.CoreV1.ReadNamespacedPodAsync(created.Metadata.Name, Namespace).WaitAsync(Timeout);
        var list = await Client.CoreV1.ListNamespacedPodAsync(Namespace).WaitAsync(Timeout);
        var deleted = await Client.CoreV1.DeleteNamespacedPodAsync(created.Metadata.Name, Namespace).WaitAsync(Timeout);
        var after = await Client.CoreV1.ListNamespacedPodAsync(Namespace).WaitAsync(Timeout);

        Assert.Matches("^runner-[a-z0-9]{5}$", created.Metadata.Name);
        Assert.Equal(Namespace, created.Metadata.NamespaceProperty);
        Assert.True(Guid.TryParse(created.Metadata.Uid, out _));
        Assert.NotNull(created.Metadata.CreationTimestamp);
        Assert.Equal("Pending", created.Status.Phase);
        Assert.Equal("iris-runner:test", got.Spec.Containers[0].Image);
        Assert.Equal(created.Metadata.Uid, got.Metadata.Uid);
        Assert.Equal(created.Metadata.Name, Assert.Single(list.Items).Metadata.Name);
        Assert.Equal(long.Parse(created.Metadata.ResourceVersion, CultureInfo.InvariantCulture), long.Parse(list.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
        Assert.Equal(created.Metadata.Uid, deleted.Metadata.Uid);
        Assert.Empty(after.Items);
        Assert.True(long.Parse(after.Metadata.ResourceVersion, CultureInfo.InvariantCulture) > long.Parse(list.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_taken_name_is_409_AlreadyExists_and_a_missing_pod_404_NotFound_as_Status_objects()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("taken"), Namespace).WaitAsync(Timeout);

        var conflict = await Assert.ThrowsAsync<HttpOperationException>(() => Client.CoreV1.CreateNamespacedPodAsync(Pod("taken"), Namespace).WaitAsync(Timeout));
        var missing = await Assert.ThrowsAsync<HttpOperationException>(() => Client.CoreV1.ReadNamespacedPodAsync("absent", Namespace).WaitAsync(Timeout));
        var deleteMissing = await Assert.ThrowsAsync<HttpOperationException>(() => Client.CoreV1.DeleteNamespacedPodAsync("absent", Namespace).WaitAsync(Timeout));

        Assert.Equal(HttpStatusCode.Conflict, conflict.Response.StatusCode);
        var conflictStatus = KubernetesJson.Deserialize<V1Status>(conflict.Response.Content);
        Assert.Equal(("Status", "AlreadyExists", 409, "taken"), (conflictStatus.Kind, conflictStatus.Reason, conflictStatus.Code!.Value, conflictStatus.Details.Name));
        foreach (var notFound in new[] { missing, deleteMissing })
        {
            Assert.Equal(HttpStatusCode.NotFound, notFound.Response.StatusCode);
            var status = KubernetesJson.Deserialize<V1Status>(notFound.Response.Content);
            Assert.Equal(("Status", "NotFound", 404), (status.Kind, status.Reason, status.Code!.Value));
        }
    }

    [Fact]
    public async Task Label_and_field_selectors_select_as_the_api_server_does()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("web", new() { ["app"] = "iris", ["tier"] = "web" }), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("plain", new() { ["app"] = "iris" }), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("other", new() { ["app"] = "other" }), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("elsewhere", new() { ["app"] = "iris" }), "elsewhere").WaitAsync(Timeout);
        Server.AddExistingPod(RunningReplica("replica"));

        async Task<string[]> Names(string? labels = null, string? fields = null) =>
            [.. (await Client.CoreV1.ListNamespacedPodAsync(Namespace, labelSelector: labels, fieldSelector: fields).WaitAsync(Timeout)).Items.Select(p => p.Metadata.Name)];

        Assert.Equal(["plain", "web"], await Names("app=iris"));
        Assert.Equal(["plain", "web"], await Names("app==iris"));
        Assert.Equal(["other", "replica"], await Names("app!=iris"));
        Assert.Equal(["web"], await Names("tier"));
        Assert.Equal(["plain"], await Names("app=iris,!tier"));
        Assert.Equal(["other"], await Names(fields: "metadata.name=other"));
        Assert.Equal(["replica"], await Names(fields: "status.phase=Running"));
        Assert.Equal(["plain"], await Names("app=iris", "metadata.name!=web"));
        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => Names(fields: "spec.unknown=x"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.Response.StatusCode);
    }

    [Fact]
    public async Task A_watch_from_a_resource_version_replays_what_came_after_it_then_streams_live_changes()
    {
        var first = await Client.CoreV1.CreateNamespacedPodAsync(Pod("first"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("second"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.DeleteNamespacedPodAsync("second", Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("unrelated", new() { ["app"] = "other" }), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);

        await using var watch = Watch(first.Metadata.ResourceVersion, labelSelector: "app=iris", cancellationToken: cancel.Token);
        var replayed = new[] { await NextAsync(watch), await NextAsync(watch) };
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("third"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("ignored", new() { ["app"] = "other" }), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.DeleteNamespacedPodAsync("first", Namespace).WaitAsync(Timeout);
        var live = new[] { await NextAsync(watch), await NextAsync(watch) };

        Assert.Equal([(WatchEventType.Added, "second"), (WatchEventType.Deleted, "second")], replayed.Select(e => (e.Item1, e.Item2.Metadata.Name)));
        Assert.Equal([(WatchEventType.Added, "third"), (WatchEventType.Deleted, "first")], live.Select(e => (e.Item1, e.Item2.Metadata.Name)));
        var versions = replayed.Concat(live).Select(e => long.Parse(e.Item2.Metadata.ResourceVersion, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(versions.Order(), versions);
        Assert.True(versions[0] > long.Parse(first.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task A_watch_without_a_resource_version_starts_with_ADDED_for_each_pod_it_selects()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("b"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("c", new() { ["app"] = "other" }), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);

        await using var watch = Watch(null, labelSelector: "app=iris", cancellationToken: cancel.Token);
        var initial = new[] { await NextAsync(watch), await NextAsync(watch) };

        Assert.Equal([(WatchEventType.Added, "a"), (WatchEventType.Added, "b")], initial.Select(e => (e.Item1, e.Item2.Metadata.Name)).Order());
    }

    /// <summary>
    /// What a session host's watch loop must handle: kube-apiserver answers a watch from a compacted version with 200 and
    /// one ERROR event holding a 410 Expired Status, then ends the stream. KubernetesClient 21's WatchAsync yields no
    /// event for it: it hands a <see cref="KubernetesException"/> (with that Status) to <c>onError</c> and the
    /// enumeration then ends normally. A caller without <c>onError</c> sees only a watch that ended, with nothing.
    /// </summary>
    [Fact]
    public async Task A_watch_from_a_compacted_version_gets_410_Expired_through_onError_and_then_ends()
    {
        var old = await Client.CoreV1.CreateNamespacedPodAsync(Pod("old"), Namespace).WaitAsync(Timeout);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("newer"), Namespace).WaitAsync(Timeout);
        Server.Compact();
        var errors = new List<Exception>();
        using var cancel = new CancellationTokenSource(Timeout);

        var withOnError = await ReadToEndAsync(Watch(old.Metadata.ResourceVersion, onError: errors.Add, cancellationToken: cancel.Token));
        var withoutOnError = await ReadToEndAsync(Watch(old.Metadata.ResourceVersion, cancellationToken: cancel.Token));

        Assert.Empty(withOnError);
        var expired = Assert.IsType<KubernetesException>(Assert.Single(errors));
        Assert.Equal((410, "Expired", "Status"), (expired.Status.Code!.Value, expired.Status.Reason, expired.Status.Kind));
        Assert.Empty(withoutOnError);
        Assert.Contains(Server.Requests, r => r.Query.Contains($"resourceVersion={old.Metadata.ResourceVersion}", StringComparison.Ordinal) && r.Query.Contains("watch=true", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_watch_from_the_version_a_compaction_kept_still_replays_later_changes()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("kept"), Namespace).WaitAsync(Timeout);
        Server.Compact();
        var compactedAt = Server.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("after"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);

        await using var watch = Watch(compactedAt, cancellationToken: cancel.Token);
        var (type, pod) = await NextAsync(watch);

        Assert.Equal((WatchEventType.Added, "after"), (type, pod.Metadata.Name));
    }

    [Fact]
    public async Task Bookmarks_arrive_periodically_and_on_demand_with_the_current_resource_version()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);

        await using var watch = Watch(null, bookmarks: true, cancellationToken: cancel.Token);
        var added = await NextAsync(watch);
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("b"), Namespace).WaitAsync(Timeout);
        var seen = new List<(WatchEventType Type, V1Pod Pod)>();
        while (seen.Count(e => e.Type == WatchEventType.Bookmark) < 2)
        {
            seen.Add(await NextAsync(watch));
        }

        Assert.Equal(WatchEventType.Added, added.Item1);
        Assert.Contains(seen, e => e.Type == WatchEventType.Added && e.Pod.Metadata.Name == "b");
        var bookmark = seen.Last(e => e.Type == WatchEventType.Bookmark).Pod;
        Assert.Equal(Server.ResourceVersion.ToString(CultureInfo.InvariantCulture), bookmark.Metadata.ResourceVersion);
        Assert.Null(bookmark.Metadata.Name);
    }

    [Fact]
    public async Task SendBookmarks_reaches_only_watches_that_allowed_them()
    {
        await using var server = await TestKubernetesApiServer.StartAsync(new() { BookmarkInterval = TimeSpan.FromHours(1) });
        using var client = server.CreateClient();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);
        await using var allowing = Watch(client, null, bookmarks: true, cancellationToken: cancel.Token);
        await using var plain = Watch(client, null, bookmarks: false, cancellationToken: cancel.Token);
        await NextAsync(allowing);
        await NextAsync(plain);

        server.SendBookmarks();
        await client.CoreV1.CreateNamespacedPodAsync(Pod("b"), Namespace).WaitAsync(Timeout);
        var toAllowing = new[] { await NextAsync(allowing), await NextAsync(allowing) };
        var toPlain = await NextAsync(plain);

        Assert.Equal([WatchEventType.Bookmark, WatchEventType.Added], toAllowing.Select(e => e.Item1));
        Assert.Equal((WatchEventType.Added, "b"), (toPlain.Item1, toPlain.Item2.Metadata.Name));
    }

    /// <summary>
    /// A dropped watch connection reaches the client's enumeration as an exception (an IOException over the reset
    /// socket), not as a clean end, so a watch loop can tell it from a server-side timeout.
    /// </summary>
    [Fact]
    public async Task BreakWatches_ends_a_client_watch_with_an_IOException()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);
        await using var watch = Watch(null, cancellationToken: cancel.Token);
        await NextAsync(watch);

        Server.BreakWatches();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await NextAsync(watch));

        Assert.IsType<IOException>(error);
        Assert.Equal(SocketError.ConnectionReset, Assert.IsType<SocketException>(error.InnerException).SocketErrorCode);
    }

    /// <summary>
    /// The client opens a watch only once its first line arrives (it peeks it), so a watch that times out with no
    /// event at all fails to open with an <see cref="HttpRequestException"/>, against kube-apiserver as here; one that
    /// had events ends cleanly.
    /// </summary>
    [Fact]
    public async Task TimeoutSeconds_ends_the_watch_cleanly_after_its_events_and_fails_an_empty_one()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);

        var events = await ReadToEndAsync(Watch(null, timeoutSeconds: 1, cancellationToken: cancel.Token));
        var empty = await Assert.ThrowsAsync<HttpRequestException>(() => ReadToEndAsync(Watch(null, labelSelector: "app=none", timeoutSeconds: 1, cancellationToken: cancel.Token)));

        Assert.Equal((WatchEventType.Added, "a"), (Assert.Single(events).Item1, events[0].Item2.Metadata.Name));
        Assert.IsType<EndOfStreamException>(empty.InnerException);
        Assert.False(cancel.IsCancellationRequested);
    }

    [Fact]
    public async Task A_restart_keeps_the_pods_and_resource_versions_keep_increasing()
    {
        var before = await Client.CoreV1.CreateNamespacedPodAsync(Pod("survivor"), Namespace).WaitAsync(Timeout);
        var address = Server.BaseAddress;

        await Server.StopAsync();
        var whileDown = await Assert.ThrowsAsync<HttpRequestException>(() => Client.CoreV1.ReadNamespacedPodAsync("survivor", Namespace).WaitAsync(Timeout));
        await Server.RestartAsync();
        var kept = await Client.CoreV1.ReadNamespacedPodAsync("survivor", Namespace).WaitAsync(Timeout);
        var after = await Client.CoreV1.CreateNamespacedPodAsync(Pod("newcomer"), Namespace).WaitAsync(Timeout);

        Assert.IsType<SocketException>(whileDown.InnerException);
        Assert.Equal(address, Server.BaseAddress);
        Assert.Equal(before.Metadata.Uid, kept.Metadata.Uid);
        Assert.Equal(before.Metadata.ResourceVersion, kept.Metadata.ResourceVersion);
        Assert.True(long.Parse(after.Metadata.ResourceVersion, CultureInfo.InvariantCulture) > long.Parse(before.Metadata.ResourceVersion, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Unknown_paths_are_404_Status_and_a_token_server_refuses_requests_without_it()
    {
        await using var secured = await TestKubernetesApiServer.StartAsync(new() { BearerToken = "s3cr3t-token" });
        using var http = new HttpClient { BaseAddress = secured.BaseAddress, Timeout = Timeout };
        using var anonymous = new k8s.Kubernetes(new KubernetesClientConfiguration { Host = secured.BaseAddress.ToString() });
        using var authorized = secured.CreateClient();
        var kubeconfig = secured.WriteKubeconfig(Path.Combine(Path.GetTempPath(), $"iris-kubeconfig-{Guid.NewGuid():N}"), Namespace);
        using var fromKubeconfig = new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig));
        File.Delete(kubeconfig);

        var refused = await Assert.ThrowsAsync<HttpOperationException>(() => anonymous.CoreV1.ListNamespacedPodAsync(Namespace).WaitAsync(Timeout));
        await authorized.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        var listed = await fromKubeconfig.CoreV1.ListNamespacedPodAsync(Namespace).WaitAsync(Timeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/nodes");
        request.Headers.Authorization = new("Bearer", "s3cr3t-token");
        using var unknown = await http.SendAsync(request);
        var unknownStatus = KubernetesJson.Deserialize<V1Status>(await unknown.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, refused.Response.StatusCode);
        Assert.Equal("a", Assert.Single(listed.Items).Metadata.Name);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal(("Status", "NotFound", 404), (unknownStatus.Kind, unknownStatus.Reason, unknownStatus.Code!.Value));
    }

    internal static V1Pod Pod(string? name = null, Dictionary<string, string>? labels = null, string? generateName = null) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, GenerateName = generateName, Labels = labels ?? new Dictionary<string, string> { ["app"] = "iris" } },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "main", Image = TestKubernetesApiServerOptions.DefaultRunnerImage }] },
    };

    private static V1Pod RunningReplica(string name) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = Namespace, Labels = new Dictionary<string, string> { ["app.kubernetes.io/component"] = "web" } },
        Spec = new V1PodSpec { Containers = [new V1Container { Name = "web", Image = "iris-web:test" }] },
        Status = new V1PodStatus { Phase = "Running", PodIP = "127.77.255.1" },
    };

    /// <summary>
    /// A watch as the session host opens one: the typed <c>WatchListNamespacedPodAsync</c>, since
    /// <c>ListNamespacedPodWithHttpMessagesAsync(watch: true).WatchAsync&lt;V1Pod, V1PodList&gt;()</c> is obsolete in
    /// KubernetesClient 21 (CS0618, an error here); both read the stream with the same enumerator.
    /// </summary>
    private IAsyncEnumerator<(WatchEventType, V1Pod)> Watch(
        string? resourceVersion, string? labelSelector = null, bool bookmarks = false, int? timeoutSeconds = null,
        Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        Watch(Client, resourceVersion, labelSelector, bookmarks, timeoutSeconds, onError, cancellationToken);

    internal static IAsyncEnumerator<(WatchEventType, V1Pod)> Watch(
        k8s.Kubernetes client, string? resourceVersion, string? labelSelector = null, bool bookmarks = false, int? timeoutSeconds = null,
        Action<Exception>? onError = null, CancellationToken cancellationToken = default) =>
        client.CoreV1.WatchListNamespacedPodAsync(
                Namespace, resourceVersion: resourceVersion, labelSelector: labelSelector, allowWatchBookmarks: bookmarks,
                timeoutSeconds: timeoutSeconds, onError: onError, cancellationToken: cancellationToken)
            .GetAsyncEnumerator(cancellationToken);

    internal static async Task<(WatchEventType, V1Pod)> NextAsync(IAsyncEnumerator<(WatchEventType, V1Pod)> watch) =>
        await watch.MoveNextAsync().AsTask().WaitAsync(Timeout)
            ? watch.Current
            : throw new InvalidOperationException("the watch ended");

    private static async Task<List<(WatchEventType, V1Pod)>> ReadToEndAsync(IAsyncEnumerator<(WatchEventType, V1Pod)> watch)
    {
        await using (watch)
        {
            var events = new List<(WatchEventType, V1Pod)>();
            while (await watch.MoveNextAsync().AsTask().WaitAsync(Timeout))
            {
                events.Add(watch.Current);
            }

            return events;
        }
    }
}

/// <summary>
/// The test kubelet runs a runner pod as a real runner process reached at the pod IP, reports each step in the pod's
/// status as the real scheduler and kubelet do, and leaves no process behind.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class TestKubeletTests : IAsyncLifetime
{
    private const string Namespace = "iris";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>What the pod's isolation stands for here: the real bubblewrap sandbox, in a cgroup folder of these tests.</summary>
    private static readonly IReadOnlyDictionary<string, string?> SandboxSettings = new Dictionary<string, string?>(Protocol.ProtocolTestSandbox.Settings)
    {
        ["Iris:Sandbox:Kind"] = "Bubblewrap",
        ["Iris:Sandbox:CgroupParent"] = "iris-kubelet-tests",
    };

    private TestKubernetesApiServer? _server;
    private k8s.Kubernetes? _client;

    private TestKubernetesApiServer Server => _server!;

    private k8s.Kubernetes Client => _client!;

    public async Task InitializeAsync()
    {
        _server = await TestKubernetesApiServer.StartAsync(new() { RunnerSettings = SandboxSettings });
        _client = _server.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client?.Dispose();
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_runner_pod_becomes_Running_then_Ready_serves_healthz_at_its_pod_IP_and_its_deletion_kills_the_process()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var before = Server.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        await using var watch = TestKubernetesApiServerTests.Watch(Client, before, labelSelector: "app.kubernetes.io/component=runner", cancellationToken: cancel.Token);
        var port = FreePort();
        var created = await Client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", port), Namespace).WaitAsync(Timeout);
        var name = created.Metadata.Name;

        var seen = new List<V1Pod>();
        while (seen.LastOrDefault()?.Status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") is not true)
        {
            var (_, pod) = await NextAsync(watch, () => Server.Kubelet.RunnerOutput(name));
            seen.Add(pod);
        }

        var ready = seen[^1];
        var running = seen.First(p => p.Status.Phase == "Running");
        using var http = new HttpClient { Timeout = Timeout };
        using var health = await http.GetAsync(new Uri($"http://{ready.Status.PodIP}:{port}/healthz"));
        var pid = Server.Kubelet.RunnerProcessId(name, Namespace) ?? throw new InvalidOperationException("no runner process");
        await Client.CoreV1.DeleteNamespacedPodAsync(name, Namespace).WaitAsync(Timeout);
        var (deletedType, deleted) = await NextAsync(watch, () => string.Empty);
        while (deletedType != WatchEventType.Deleted)
        {
            (deletedType, deleted) = await NextAsync(watch, () => string.Empty);
        }

        Assert.Matches(@"^127\.77\.\d+\.\d+$", ready.Status.PodIP);
        Assert.Equal(running.Status.PodIP, ready.Status.PodIP);
        Assert.False(running.Status.ContainerStatuses[0].Ready);
        Assert.NotNull(running.Status.ContainerStatuses[0].State.Running);
        Assert.Equal("True", running.Status.Conditions.Single(c => c.Type == "PodScheduled").Status);
        Assert.True(ready.Status.ContainerStatuses[0].Ready);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        var versions = seen.Select(p => long.Parse(p.Metadata.ResourceVersion, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(versions.Distinct().Order(), versions);
        Assert.Equal((WatchEventType.Deleted, name), (deletedType, deleted.Metadata.Name));
        Assert.False(Directory.Exists($"/proc/{pid}"), $"runner {pid} outlived its pod");
        Assert.DoesNotContain("kubelet:", Server.Kubelet.RunnerOutput(name, Namespace), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_runner_killed_like_an_OOM_kill_fails_its_pod_with_the_exit_code()
    {
        var created = await Client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", FreePort()), Namespace).WaitAsync(Timeout);
        var name = created.Metadata.Name;
        await WaitForPodAsync(name, p => p.Status.Phase == "Running");

        await Server.Kubelet.KillRunnerAsync(name, Namespace);
        var failed = await WaitForPodAsync(name, p => p.Status.Phase is "Failed" or "Succeeded");

        Assert.Equal("Failed", failed.Status.Phase);
        Assert.Equal(137, failed.Status.ContainerStatuses[0].State.Terminated.ExitCode);
        Assert.False(failed.Status.ContainerStatuses[0].Ready);
        Assert.Equal("False", failed.Status.Conditions.Single(c => c.Type == "Ready").Status);
    }

    [Fact]
    public async Task A_never_ready_runner_runs_and_answers_but_its_pod_stays_unready()
    {
        Server.Kubelet.NeverReady = true;
        var port = FreePort();
        var created = await Client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", port), Namespace).WaitAsync(Timeout);
        var name = created.Metadata.Name;
        var running = await WaitForPodAsync(name, p => p.Status.Phase == "Running");
        using var http = new HttpClient { Timeout = Timeout };
        var deadline = DateTime.UtcNow + Timeout;
        HttpStatusCode? health = null;
        while (health != HttpStatusCode.OK && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
            try
            {
                using var response = await http.GetAsync(new Uri($"http://{running.Status.PodIP}:{port}/healthz"));
                health = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                health = null;
            }
        }

        var probesThen = Server.Kubelet.ReadinessProbes(name, Namespace);
        while (Server.Kubelet.ReadinessProbes(name, Namespace) < probesThen + 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var after = await Client.CoreV1.ReadNamespacedPodAsync(name, Namespace).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.OK, health);
        Assert.True(Server.Kubelet.ReadinessProbes(name, Namespace) >= probesThen + 5);
        Assert.Equal("Running", after.Status.Phase);
        Assert.Equal("False", after.Status.Conditions.Single(c => c.Type == "Ready").Status);
        Assert.False(after.Status.ContainerStatuses[0].Ready);
    }

    [Fact]
    public async Task Disposing_the_server_kills_every_runner_process()
    {
        await using var server = await TestKubernetesApiServer.StartAsync(new() { RunnerSettings = SandboxSettings });
        using var client = server.CreateClient();
        var created = await client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", FreePort()), Namespace).WaitAsync(Timeout);
        var deadline = DateTime.UtcNow + Timeout;
        while (server.Kubelet.RunnerProcessId(created.Metadata.Name, Namespace) is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var pid = server.Kubelet.RunnerProcessId(created.Metadata.Name, Namespace) ?? throw new InvalidOperationException("no runner process");
        var aliveBefore = Directory.Exists($"/proc/{pid}");
        await server.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.True(aliveBefore);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"runner {pid} outlived the server");
    }

    [Fact]
    public async Task An_image_the_registry_lacks_shows_ErrImagePull_then_ImagePullBackOff_and_stays_Pending()
    {
        using var cancel = new CancellationTokenSource(Timeout);
        var before = Server.ResourceVersion.ToString(CultureInfo.InvariantCulture);
        await using var watch = TestKubernetesApiServerTests.Watch(Client, before, cancellationToken: cancel.Token);
        var created = await Client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", FreePort(), image: "iris-runner:missing"), Namespace).WaitAsync(Timeout);

        var seen = new List<V1Pod>();
        while (seen.LastOrDefault()?.Status.ContainerStatuses?[0].State.Waiting?.Reason != "ImagePullBackOff")
        {
            seen.Add((await NextAsync(watch, () => Server.Kubelet.RunnerOutput(created.Metadata.Name, Namespace))).Item2);
        }

        var reasons = seen.Select(p => p.Status.ContainerStatuses?[0].State.Waiting?.Reason).OfType<string>().ToList();
        Assert.Equal(["ErrImagePull", "ImagePullBackOff"], reasons);
        Assert.Contains("iris-runner:missing", seen[^1].Status.ContainerStatuses[0].State.Waiting.Message, StringComparison.Ordinal);
        Assert.All(seen, p => Assert.Equal("Pending", p.Status.Phase));
        Assert.Null(Server.Kubelet.RunnerProcessId(created.Metadata.Name, Namespace));
    }

    [Fact]
    public async Task A_pod_asking_more_cpu_than_the_node_has_is_Unschedulable_and_nothing_else()
    {
        var created = await Client.CoreV1.CreateNamespacedPodAsync(RunnerPod("runner-", FreePort(), cpu: "2500m"), Namespace).WaitAsync(Timeout);

        var pod = await WaitForPodAsync(created.Metadata.Name, p => p.Status.Conditions?.Any(c => c.Type == "PodScheduled") is true);

        var scheduled = pod.Status.Conditions.Single();
        Assert.Equal(("PodScheduled", "False", "Unschedulable"), (scheduled.Type, scheduled.Status, scheduled.Reason));
        Assert.Equal("0/1 nodes are available: 1 Insufficient cpu.", scheduled.Message);
        Assert.Equal("Pending", pod.Status.Phase);
        Assert.Null(pod.Status.ContainerStatuses);
        Assert.Null(pod.Spec.NodeName);
    }

    /// <summary>A runner pod as the session host would ask for one; its env picks the process sandbox, which the test's settings override.</summary>
    private static V1Pod RunnerPod(string generateName, int port, string image = TestKubernetesApiServerOptions.DefaultRunnerImage, string cpu = "500m") => new()
    {
        Metadata = new V1ObjectMeta
        {
            GenerateName = generateName,
            Labels = new Dictionary<string, string> { [TestKubelet.RunnerLabel] = TestKubelet.RunnerLabelValue, ["app.kubernetes.io/name"] = "iris" },
        },
        Spec = new V1PodSpec
        {
            RestartPolicy = "Never",
            Containers =
            [
                new V1Container
                {
                    Name = "runner",
                    Image = image,
                    Env =
                    [
                        new V1EnvVar { Name = "Iris__Sandbox__Kind", Value = "Process" },
                        new V1EnvVar { Name = "POD_NAME", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                    ],
                    Ports = [new V1ContainerPort { Name = "http", ContainerPort = port }],
                    ReadinessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/healthz", Port = "http" }, PeriodSeconds = 1 },
                    Resources = new V1ResourceRequirements { Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = new(cpu), ["memory"] = new("256Mi") } },
                },
            ],
        },
    };

    /// <summary>A port free on every address, since each pod listens on its own 127.77.x.y and a wildcard listener elsewhere would clash.</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Any, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task<V1Pod> WaitForPodAsync(string name, Func<V1Pod, bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var pod = await Client.CoreV1.ReadNamespacedPodAsync(name, Namespace).WaitAsync(Timeout);
            if (condition(pod))
            {
                return pod;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"pod {name} did not get there; last status {KubernetesJson.Serialize(pod.Status)}\n{Server.Kubelet.RunnerOutput(name, Namespace)}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<(WatchEventType, V1Pod)> NextAsync(IAsyncEnumerator<(WatchEventType, V1Pod)> watch, Func<string> diagnostics)
    {
        try
        {
            return await TestKubernetesApiServerTests.NextAsync(watch);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"no watch event in time; runner output:\n{diagnostics()}", e);
        }
    }
}
