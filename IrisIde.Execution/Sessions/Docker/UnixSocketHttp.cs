using System.Net.Sockets;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>HTTP and WebSocket connections to a server listening on a unix socket (a runner without a network).</summary>
internal static class UnixSocketHttp
{
    /// <summary>The address used on the wire; the host part means nothing, the socket decides where it goes.</summary>
    public static readonly Uri BaseAddress = new("http://runner/");

    public static SocketsHttpHandler CreateHandler(string socketPath) => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.Zero,
        ConnectCallback = async (_, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
