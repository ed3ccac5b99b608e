using System.Net.Http.Headers;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// A started runner container: its id, where it answers and a client for that place. A runner without a network
/// answers on a unix socket in a host folder bind-mounted into it alone; one on a network (a runtime such as Kata
/// cannot share a socket with the host) answers on its address there, and only to the holder of its access token.
/// It serves one session, then it is removed.
/// </summary>
internal sealed class DockerRunner : IDisposable
{
    /// <summary>The socket's name in the runner's folder (<c>/run/iris/runner.sock</c> inside the container).</summary>
    public const string SocketName = "runner.sock";

    /// <summary>The folder the runner's socket folder is mounted at inside the container.</summary>
    public const string ContainerSocketFolder = "/run/iris";

    /// <summary>The port a runner on a network listens on.</summary>
    public const int NetworkPort = 8080;

    private readonly string _accessToken;
    private HttpMessageInvoker? _invoker;
    private HttpMessageHandler? _handler;

    /// <summary>A runner reached through the unix socket in <paramref name="socketFolder"/>.</summary>
    public static DockerRunner OnSocket(string containerId, string runnerId, string socketFolder, string accessToken, DateTimeOffset startedAt) =>
        new(containerId, runnerId, socketFolder, UnixSocketHttp.BaseAddress, accessToken, startedAt);

    /// <summary>A runner reached at <paramref name="address"/> on its network.</summary>
    public static DockerRunner OnNetwork(string containerId, string runnerId, string address, string accessToken, DateTimeOffset startedAt) =>
        new(containerId, runnerId, null, new UriBuilder(Uri.UriSchemeHttp, address, NetworkPort, "/").Uri, accessToken, startedAt);

    private DockerRunner(string containerId, string runnerId, string? socketFolder, Uri baseAddress, string accessToken, DateTimeOffset startedAt)
    {
        ContainerId = containerId;
        RunnerId = runnerId;
        SocketFolder = socketFolder;
        BaseAddress = baseAddress;
        _accessToken = accessToken;
        StartedAt = startedAt;
        ProtocolUri = new UriBuilder(new Uri(baseAddress, "ws")) { Scheme = "ws" }.Uri;
    }

    public string ContainerId { get; }

    /// <summary>Our short id for it (label <c>iris.runner</c>, container name <c>iris-runner-{id}</c>).</summary>
    public string RunnerId { get; }

    /// <summary>The host folder holding its socket; null for a runner on a network.</summary>
    public string? SocketFolder { get; }

    /// <summary>The socket's host path; null for a runner on a network.</summary>
    public string? SocketPath => SocketFolder is null ? null : Path.Combine(SocketFolder, SocketName);

    /// <summary>Where its HTTP endpoints are (<c>/healthz</c>, <c>/languages</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Its protocol endpoint, reached through <see cref="Invoker"/>.</summary>
    public Uri ProtocolUri { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Connections to the runner (HTTP and WebSocket alike), each carrying its access token.</summary>
    public HttpMessageInvoker Invoker => _invoker ??= new HttpMessageInvoker(CreateHandler());

    /// <summary>An <see cref="HttpClient"/> on one handler kept for the runner's life (its connections are reused); disposing the client leaves it.</summary>
    public HttpClient CreateClient(TimeSpan timeout) => new(_handler ??= CreateHandler(), disposeHandler: false) { BaseAddress = BaseAddress, Timeout = timeout };

    private RunnerAccessHandler CreateHandler() => new(
        _accessToken,
        SocketPath is { } socket ? UnixSocketHttp.CreateHandler(socket) : new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromSeconds(5),
        });

    public void Dispose()
    {
        _invoker?.Dispose();
        _handler?.Dispose();
    }

    /// <summary>Puts the runner's access token on every request, the WebSocket upgrade included.</summary>
    private sealed class RunnerAccessHandler(string token, HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return base.SendAsync(request, cancellationToken);
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            return base.Send(request, cancellationToken);
        }
    }
}
