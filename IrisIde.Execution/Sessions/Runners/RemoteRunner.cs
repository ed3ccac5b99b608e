using System.Net.Http.Headers;

namespace IrisIde.Execution.Sessions.Runners;

/// <summary>
/// A started runner (<c>IrisIde.Worker runner</c> in a container or pod of its own): where it answers and a client
/// for that place that carries its access token on every request. It serves one session, then it is removed.
/// </summary>
internal abstract class RemoteRunner : IDisposable
{
    private readonly string _accessToken;
    private HttpMessageInvoker? _invoker;
    private HttpMessageHandler? _handler;

    protected RemoteRunner(string key, string runnerId, Uri baseAddress, string accessToken, DateTimeOffset startedAt)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(baseAddress);
        Key = key;
        RunnerId = runnerId;
        BaseAddress = baseAddress;
        _accessToken = accessToken;
        StartedAt = startedAt;
        ProtocolUri = new UriBuilder(new Uri(baseAddress, "ws")) { Scheme = "ws" }.Uri;
    }

    /// <summary>The backend's name for it, unique among live runners: a container id, a pod name.</summary>
    public string Key { get; }

    /// <summary>Our short id for it, on its labels and in its name.</summary>
    public string RunnerId { get; }

    /// <summary>Where its HTTP endpoints are (<c>/healthz</c>, <c>/languages</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Its protocol endpoint, reached through <see cref="Invoker"/>.</summary>
    public Uri ProtocolUri { get; }

    public DateTimeOffset StartedAt { get; }

    /// <summary>Connections to the runner (HTTP and WebSocket alike), each carrying its access token.</summary>
    public HttpMessageInvoker Invoker => _invoker ??= new HttpMessageInvoker(CreateHandler());

    /// <summary>An <see cref="HttpClient"/> on one handler kept for the runner's life (its connections are reused); disposing the client leaves it.</summary>
    public HttpClient CreateClient(TimeSpan timeout) => new(_handler ??= CreateHandler(), disposeHandler: false) { BaseAddress = BaseAddress, Timeout = timeout };

    /// <summary>How connections reach the runner; the default is TCP to <see cref="BaseAddress"/>.</summary>
    protected virtual HttpMessageHandler CreateTransport() => new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    };

    private RunnerAccessHandler CreateHandler() => new(_accessToken, CreateTransport());

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _invoker?.Dispose();
            _handler?.Dispose();
        }
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
