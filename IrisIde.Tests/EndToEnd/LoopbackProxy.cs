using System.Net;
using System.Net.Sockets;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// A TCP relay on a free loopback port in front of the web app, so a test can cut the browser's
/// connections the way a network failure does: every open socket (the Blazor circuit's WebSocket,
/// the execution hub's) is reset at once, and new ones are refused until the network "comes back".
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly List<(TcpClient Client, TcpClient Upstream)> _links = [];
    private readonly Task _acceptLoop;
    private volatile bool _down;

    public LoopbackProxy(Uri target)
    {
        _target = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        _listener.Start();
        var port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}/");
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
    }

    public Uri BaseAddress { get; }

    /// <summary>Connections relayed right now.</summary>
    public int OpenConnections
    {
        get
        {
            lock (_gate)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Resets every relayed connection and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _down = true;
        List<(TcpClient Client, TcpClient Upstream)> links;
        lock (_gate)
        {
            links = [.. _links];
            _links.Clear();
        }

        foreach (var (client, upstream) in links)
        {
            Reset(client);
            Reset(upstream);
        }
    }

    /// <summary>Accepts and relays connections again.</summary>
    public void Restore() => _down = false;

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Cut();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private static void Reset(TcpClient client)
    {
        try
        {
            // Linger 0: close with RST, as a dropped network path looks to both ends. (Client is
            // null once the relay has closed this connection itself.)
            if (client.Client is { } socket)
            {
                socket.LingerState = new LingerOption(true, 0);
            }

            client.Close();
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(cancellationToken);
            if (_down)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client, cancellationToken);
        }
    }

    private async Task RelayAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(_target, cancellationToken);
            lock (_gate)
            {
                _links.Add((client, upstream));
            }

            client.NoDelay = true;
            upstream.NoDelay = true;
            var clientStream = client.GetStream();
            var upstreamStream = upstream.GetStream();
            await Task.WhenAny(
                clientStream.CopyToAsync(upstreamStream, cancellationToken),
                upstreamStream.CopyToAsync(clientStream, cancellationToken));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended or was cut: either way there is nothing left to relay.
        }
        finally
        {
            lock (_gate)
            {
                _links.Remove((client, upstream));
            }

            client.Dispose();
            upstream.Dispose();
        }
    }
}
