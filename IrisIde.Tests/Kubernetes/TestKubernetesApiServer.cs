using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Kubernetes;

/// <summary>One request the API server saw, for tests that check what a client asked (e.g. that it watched from a version).</summary>
public sealed record KubernetesApiRequest(string Method, string Path, string Query);

/// <summary>
/// A Kubernetes API server for tests, since no cluster can run here: the core/v1 pod endpoints a session host uses
/// (create, get, list, delete, watch) on a loopback port, with the wire format, status codes, resource versions, watch
/// replay, 410 Expired and bookmarks of the real kube-apiserver, so <c>KubernetesClient</c> talks to it unchanged. Its
/// <see cref="Kubelet"/> runs each runner pod as a real runner process. Test controls break it the ways a real
/// cluster breaks: compacted history, dropped watches, an API server restart.
/// </summary>
public sealed class TestKubernetesApiServer : IAsyncDisposable
{
    private const string NameAlphabet = "bcdfghjklmnpqrstvwxz2456789";
    private static readonly JsonSerializerOptions StatusJsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private readonly PodStore _store = new();
    private readonly TestKubernetesApiServerOptions _options;
    private readonly ConcurrentQueue<KubernetesApiRequest> _requests = new();
    private WebApplication? _app;
    private int _port;

    private TestKubernetesApiServer(TestKubernetesApiServerOptions options)
    {
        _options = options;
        Kubelet = new TestKubelet(_store, options);
    }

    /// <summary><c>http://127.0.0.1:port/</c>; the same across <see cref="RestartAsync"/>.</summary>
    public Uri BaseAddress => new($"http://127.0.0.1:{_port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The node agent that runs runner pods as processes.</summary>
    public TestKubelet Kubelet { get; }

    /// <summary>Every request seen so far, in arrival order.</summary>
    public IReadOnlyList<KubernetesApiRequest> Requests => [.. _requests];

    /// <summary>A copy of every pod, as a list of all namespaces would return them.</summary>
    public IReadOnlyList<V1Pod> Pods => _store.List(null, PodSelector.Everything, out _);

    /// <summary>The resource version of the newest change.</summary>
    public long ResourceVersion => _store.ResourceVersion;

    /// <summary>Watches currently streaming (so a test can wait until a client is watching before it changes something).</summary>
    public int OpenWatches => _store.OpenWatches;

    public static async Task<TestKubernetesApiServer> StartAsync(TestKubernetesApiServerOptions? options = null)
    {
        var server = new TestKubernetesApiServer(options ?? new TestKubernetesApiServerOptions());
        await server.StartAppAsync(port: 0);
        return server;
    }

    /// <summary>A client for this server, as the session host builds one from its configuration.</summary>
    public k8s.Kubernetes CreateClient() => new(new KubernetesClientConfiguration
    {
        Host = BaseAddress.ToString().TrimEnd('/'),
        AccessToken = _options.BearerToken,
    });

    /// <summary>Writes a kubeconfig for this server (what <c>Iris:Kubernetes:Kubeconfig</c> points at) to <paramref name="path"/>.</summary>
    public string WriteKubeconfig(string path, string @namespace = "default")
    {
        var user = _options.BearerToken is { } token ? $"\n    token: {token}" : " {}";
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: iris-test
              cluster:
                server: {BaseAddress.ToString().TrimEnd('/')}
            users:
            - name: iris-test
              user:{user}
            contexts:
            - name: iris-test
              context:
                cluster: iris-test
                user: iris-test
                namespace: {@namespace}
            current-context: iris-test

            """);
        return path;
    }

    /// <summary>
    /// Adds a pod as another component would have created it and a node would run it (e.g. a web-app replica that is
    /// just Running): its status is kept as given and the kubelet leaves it alone.
    /// </summary>
    public V1Pod AddExistingPod(V1Pod pod)
    {
        var stored = Admit(pod, pod.Metadata?.NamespaceProperty ?? "default");
        stored.Status ??= new V1PodStatus();
        stored.Status.Phase ??= "Pending";
        return _store.Add(stored) ?? throw new InvalidOperationException($"pod {stored.Metadata.Name} already exists");
    }

    /// <summary>Changes a pod's stored state as its node or a controller would; emits MODIFIED. Null when it does not exist.</summary>
    public V1Pod? ChangePod(string name, Action<V1Pod> change, string @namespace = "default") => _store.Update(@namespace, name, null, change);

    /// <summary>Forgets the change history, as etcd compaction does: a watch from an older resource version gets 410 Expired.</summary>
    public void Compact() => _store.Compact();

    /// <summary>Drops every open watch connection mid-stream, as a load balancer or an API server crash would.</summary>
    public void BreakWatches() => _store.BreakAll();

    /// <summary>Sends a BOOKMARK now to every watch that allowed them.</summary>
    public void SendBookmarks() => _store.BookmarkAll();

    /// <summary>Makes the server unreachable (open watches dropped, connections refused) until <see cref="RestartAsync"/>; pods and the kubelet carry on.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        _store.BreakAll();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
        _app = null;
    }

    /// <summary>Stops the server if it runs and starts it again on the same port with the same state, as an API server restart.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync(_port);
    }

    /// <summary>Stops serving, then kills every runner process and waits for each to exit.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await Kubelet.DisposeAsync();
    }

    private async Task StartAppAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.Use(RecordAndAuthorize);
        var pods = app.MapGroup("/api/v1/namespaces/{namespace}/pods");
        pods.MapPost("/", CreateAsync);
        pods.MapGet("/", context => ListOrWatchAsync(context, Namespace(context)));
        pods.MapGet("/{name}", GetAsync);
        pods.MapDelete("/{name}", DeleteAsync);
        app.MapGet("/api/v1/pods", context => ListOrWatchAsync(context, null));
        app.MapFallback(context => WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", "the server could not find the requested resource"));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        _app = app;
    }

    private async Task RecordAndAuthorize(HttpContext context, RequestDelegate next)
    {
        _requests.Enqueue(new KubernetesApiRequest(context.Request.Method, context.Request.Path.Value ?? "/", context.Request.QueryString.Value ?? string.Empty));
        if (_options.BearerToken is { } token
            && !string.Equals(context.Request.Headers.Authorization.ToString(), "Bearer " + token, StringComparison.Ordinal))
        {
            await WriteStatusAsync(context, HttpStatusCode.Unauthorized, "Unauthorized", "Unauthorized");
            return;
        }

        await next(context);
    }

    private async Task CreateAsync(HttpContext context)
    {
        var @namespace = Namespace(context);
        V1Pod? pod;
        try
        {
            using var reader = new StreamReader(context.Request.Body);
            pod = KubernetesJson.Deserialize<V1Pod>(await reader.ReadToEndAsync(context.RequestAborted));
        }
        catch (JsonException e)
        {
            await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", e.Message);
            return;
        }

        if (pod?.Metadata is null || (string.IsNullOrEmpty(pod.Metadata.Name) && string.IsNullOrEmpty(pod.Metadata.GenerateName)))
        {
            await WriteStatusAsync(context, HttpStatusCode.UnprocessableEntity, "Invalid", "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required");
            return;
        }

        if (pod.Metadata.NamespaceProperty is { Length: > 0 } given && given != @namespace)
        {
            await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
            return;
        }

        if (pod.Spec?.Containers is not { Count: > 0 })
        {
            await WriteStatusAsync(context, HttpStatusCode.UnprocessableEntity, "Invalid", $"Pod \"{pod.Metadata.Name}\" is invalid: spec.containers: Required value");
            return;
        }

        var admitted = Admit(pod, @namespace);
        admitted.Status = new V1PodStatus { Phase = "Pending", QosClass = "Burstable" };
        var stored = _store.Add(admitted);
        if (stored is null)
        {
            await WriteStatusAsync(context, HttpStatusCode.Conflict, "AlreadyExists", $"pods \"{admitted.Metadata.Name}\" already exists", admitted.Metadata.Name);
            return;
        }

        Kubelet.Schedule(stored);
        await WriteJsonAsync(context, HttpStatusCode.Created, stored);
    }

    private async Task ListOrWatchAsync(HttpContext context, string? @namespace)
    {
        var query = context.Request.Query;
        PodSelector selector;
        try
        {
            selector = PodSelector.Parse(query["labelSelector"], query["fieldSelector"]);
        }
        catch (FormatException e)
        {
            await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", e.Message);
            return;
        }

        if (IsTrue(query["watch"]))
        {
            await WatchAsync(context, @namespace, selector);
            return;
        }

        var items = _store.List(@namespace, selector, out var version);
        await WriteJsonAsync(context, HttpStatusCode.OK, new V1PodList
        {
            ApiVersion = "v1",
            Kind = "PodList",
            Metadata = new V1ListMeta { ResourceVersion = PodStore.Format(version) },
            Items = [.. items],
        });
    }

    private async Task WatchAsync(HttpContext context, string? @namespace, PodSelector selector)
    {
        var query = context.Request.Query;
        long? from = null;
        if (query["resourceVersion"].ToString() is { Length: > 0 } given && given != "0")
        {
            if (!long.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                await WriteStatusAsync(context, HttpStatusCode.BadRequest, "BadRequest", $"resourceVersion: Invalid value: \"{given}\"");
                return;
            }

            from = parsed;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json";
        using var watch = _store.Watch(@namespace, selector, from, IsTrue(query["allowWatchBookmarks"]));
        if (watch is null)
        {
            // As kube-apiserver: the watch itself is accepted (200); its one event is the 410, then it ends.
            await WriteLineAsync(context, new WatchItem("ERROR", Status(
                HttpStatusCode.Gone, "Expired", $"too old resource version: {from} ({_store.CompactedThrough + 1})")));
            return;
        }

        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        if (int.TryParse(query["timeoutSeconds"], NumberStyles.None, CultureInfo.InvariantCulture, out var timeoutSeconds) && timeoutSeconds > 0)
        {
            ending.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        }

        await context.Response.Body.FlushAsync(ending.Token);
        var bookmarks = watch.Bookmarks ? SendBookmarksAsync(watch, ending.Token) : Task.CompletedTask;
        try
        {
            await foreach (var item in watch.Lines.ReadAllAsync(ending.Token))
            {
                await WriteLineAsync(context, item);
            }
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            // timeoutSeconds passed: the stream ends cleanly, as the real server ends it.
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client went away.
        }

        await ending.CancelAsync();
        await bookmarks;
        if (watch.IsBroken)
        {
            context.Abort();
        }
    }

    private async Task SendBookmarksAsync(PodWatch watch, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.BookmarkInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                _store.Bookmark(watch);
            }
        }
        catch (OperationCanceledException)
        {
            // The watch ended.
        }
    }

    private async Task GetAsync(HttpContext context)
    {
        var name = Name(context);
        if (_store.Get(Namespace(context), name) is { } pod)
        {
            await WriteJsonAsync(context, HttpStatusCode.OK, pod);
            return;
        }

        await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found", name);
    }

    private async Task DeleteAsync(HttpContext context)
    {
        var name = Name(context);
        if (_options.DeleteDelay > TimeSpan.Zero)
        {
            await Task.Delay(_options.DeleteDelay, context.RequestAborted);
        }

        if (_store.Remove(Namespace(context), name) is not { } pod)
        {
            await WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"pods \"{name}\" not found", name);
            return;
        }

        await Kubelet.StopPodAsync(pod.Metadata.Uid);
        await WriteJsonAsync(context, HttpStatusCode.OK, pod);
    }

    private static V1Pod Admit(V1Pod pod, string @namespace)
    {
        var admitted = PodStore.Clone(pod);
        admitted.ApiVersion = "v1";
        admitted.Kind = "Pod";
        admitted.Metadata ??= new V1ObjectMeta();
        if (string.IsNullOrEmpty(admitted.Metadata.Name))
        {
            admitted.Metadata.Name = admitted.Metadata.GenerateName + RandomNumberGenerator.GetString(NameAlphabet, 5);
        }

        admitted.Metadata.NamespaceProperty = @namespace;
        admitted.Metadata.Uid = Guid.NewGuid().ToString();
        var now = DateTime.UtcNow;
        admitted.Metadata.CreationTimestamp = new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        return admitted;
    }

    private static string Namespace(HttpContext context) => (string)context.Request.RouteValues["namespace"]!;

    private static string Name(HttpContext context) => (string)context.Request.RouteValues["name"]!;

    private static bool IsTrue(string? value) => value is "true" or "1";

    private static V1Status Status(HttpStatusCode code, string reason, string message, string? name = null) => new()
    {
        ApiVersion = "v1",
        Kind = "Status",
        Metadata = new V1ListMeta(),
        Status = "Failure",
        Message = message,
        Reason = reason,
        Code = (int)code,
        Details = name is null ? null : new V1StatusDetails { Name = name, Kind = "pods" },
    };

    /// <summary>
    /// KubernetesJson for everything but <see cref="V1Status"/>, whose converter in KubernetesClient only reads; a
    /// Status is written field by field as kube-apiserver writes it.
    /// </summary>
    private static string ToJson(object body) => body is V1Status status
        ? JsonSerializer.Serialize(
            new
            {
                kind = status.Kind,
                apiVersion = status.ApiVersion,
                metadata = new { },
                status = status.Status,
                message = status.Message,
                reason = status.Reason,
                details = status.Details is { } details ? new { name = details.Name, kind = details.Kind } : null,
                code = status.Code,
            },
            StatusJsonOptions)
        : KubernetesJson.Serialize(body);

    private static Task WriteStatusAsync(HttpContext context, HttpStatusCode code, string reason, string message, string? name = null) =>
        WriteJsonAsync(context, code, Status(code, reason, message, name));

    private static async Task WriteJsonAsync(HttpContext context, HttpStatusCode code, object body)
    {
        context.Response.StatusCode = (int)code;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(ToJson(body), context.RequestAborted);
    }

    private static async Task WriteLineAsync(HttpContext context, WatchItem item)
    {
        await context.Response.WriteAsync($"{{\"type\":\"{item.Type}\",\"object\":{ToJson(item.Object)}}}\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
