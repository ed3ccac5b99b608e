namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// A started runner container: its id, the host folder holding its socket (bind-mounted into it alone)
/// and a client for that socket. It serves one session, then it is removed.
/// </summary>
internal sealed class DockerRunner(string containerId, string runnerId, string socketFolder, DateTimeOffset startedAt) : IDisposable
{
    /// <summary>The socket's name in the runner's folder (<c>/run/iris/runner.sock</c> inside the container).</summary>
    public const string SocketName = "runner.sock";

    /// <summary>The folder the runner's socket folder is mounted at inside the container.</summary>
    public const string ContainerSocketFolder = "/run/iris";

    private HttpMessageInvoker? _invoker;

    public string ContainerId { get; } = containerId;

    /// <summary>Our short id for it (label <c>iris.runner</c>, container name <c>iris-runner-{id}</c>).</summary>
    public string RunnerId { get; } = runnerId;

    public string SocketFolder { get; } = socketFolder;

    public string SocketPath => Path.Combine(SocketFolder, SocketName);

    public DateTimeOffset StartedAt { get; } = startedAt;

    /// <summary>The runner's protocol endpoint, reached through <see cref="Invoker"/>.</summary>
    public static Uri ProtocolUri { get; } = new("ws://runner/ws");

    /// <summary>Connections to the runner's socket (HTTP and WebSocket alike).</summary>
    public HttpMessageInvoker Invoker => _invoker ??= new HttpMessageInvoker(UnixSocketHttp.CreateHandler(SocketPath));

    public void Dispose() => _invoker?.Dispose();
}
