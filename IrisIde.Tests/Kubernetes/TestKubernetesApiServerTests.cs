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

    /// <summary>A dropped watch connection reaches the client's enumeration as an exception (the response ended early), not as a clean end.</summary>
    [Fact]
    public async Task BreakWatches_ends_a_client_watch_with_an_IOException()
    {
        await Client.CoreV1.CreateNamespacedPodAsync(Pod("a"), Namespace).WaitAsync(Timeout);
        using var cancel = new CancellationTokenSource(Timeout);
        await using var watch = Watch(null, cancellationToken: cancel.Token);
        await NextAsync(watch);

        Server.BreakWatches();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await NextAsync(watch));

        Assert.IsAssignableFrom<IOException>(error);
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
