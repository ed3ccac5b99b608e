using IrisIde.Execution.Sessions.Runners;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// A started runner container. A runner without a network answers on a unix socket in a host folder bind-mounted
/// into it alone; one on a network (a runtime such as Kata cannot share a socket with the host) answers on its
/// address there, and only to the holder of its access token.
/// </summary>
internal sealed class DockerRunner : RemoteRunner
{
    /// <summary>The socket's name in the runner's folder (<c>/run/iris/runner.sock</c> inside the container).</summary>
    public const string SocketName = "runner.sock";

    /// <summary>The folder the runner's socket folder is mounted at inside the container.</summary>
    public const string ContainerSocketFolder = "/run/iris";

    /// <summary>The port a runner on a network listens on.</summary>
    public const int NetworkPort = 8080;

    /// <summary>A runner reached through the unix socket in <paramref name="socketFolder"/>.</summary>
    public static DockerRunner OnSocket(string containerId, string runnerId, string socketFolder, string accessToken, DateTimeOffset startedAt) =>
        new(containerId, runnerId, socketFolder, UnixSocketHttp.BaseAddress, accessToken, startedAt);

    /// <summary>A runner reached at <paramref name="address"/> on its network.</summary>
    public static DockerRunner OnNetwork(string containerId, string runnerId, string address, string accessToken, DateTimeOffset startedAt) =>
        new(containerId, runnerId, null, new UriBuilder(Uri.UriSchemeHttp, address, NetworkPort, "/").Uri, accessToken, startedAt);

    private DockerRunner(string containerId, string runnerId, string? socketFolder, Uri baseAddress, string accessToken, DateTimeOffset startedAt)
        : base(containerId, runnerId, baseAddress, accessToken, startedAt) => SocketFolder = socketFolder;

    public string ContainerId => Key;

    /// <summary>The host folder holding its socket; null for a runner on a network.</summary>
    public string? SocketFolder { get; }

    /// <summary>The socket's host path; null for a runner on a network.</summary>
    public string? SocketPath => SocketFolder is null ? null : Path.Combine(SocketFolder, SocketName);

    protected override HttpMessageHandler CreateTransport() =>
        SocketPath is { } socket ? UnixSocketHttp.CreateHandler(socket) : base.CreateTransport();
}
