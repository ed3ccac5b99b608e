using System.Net.WebSockets;
using System.Text;
using IrisIde.Execution.Sessions.Kubernetes;
using IrisIde.Tests.Hubs;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// The web app with its sessions on runner pods of the in-test API server (each pod a real runner process), so the
/// whole protocol suite runs through the Kubernetes session host; fails the class if the stopped app left a pod.
/// </summary>
public class KubernetesWebAppFixture : IrisWebAppFixture
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iris-k8s-web-").FullName;
    private TestKubernetesApiServer? _server;
    private Dictionary<string, string?>? _settings;

    public TestKubernetesApiServer Server => _server ?? throw new InvalidOperationException("The API server has not started.");

    protected override IReadOnlyDictionary<string, string?> Settings => _settings ?? throw new InvalidOperationException("The API server has not started.");

    public override async Task InitializeAsync()
    {
        _server = await TestKubernetesApiServer.StartAsync(KubernetesHostHarness.ServerOptions());
        _settings = KubernetesHostHarness.Settings(_server, _folder, poolSize: 2);
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        var replica = App.Services.GetRequiredService<KubernetesReplica>().Id;
        var pool = App.Services.GetRequiredService<KubernetesRunnerPool>();
        await base.DisposeAsync();
        // The factory's disposal of the host can return while the app's entry point, which disposes the host too, is
        // still removing runners: the stop is over when the pool's disposal (the same one, awaited again) is.
        await pool.DisposeAsync();
        var left = KubernetesHostHarness.RunnerPods(Server, replica);
        await Server.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
        if (left.Count > 0)
        {
            throw new InvalidOperationException($"The stopped web app left {left.Count} runner pod(s): {string.Join(", ", left.Select(p => p.Metadata.Name))}");
        }
    }
}

/// <summary>The whole iris-runner protocol suite, each session relayed to a runner pod of its own.</summary>
public sealed class KubernetesRunnerProtocolTests(KubernetesWebAppFixture fixture) : RunnerProtocolSuite(fixture), IClassFixture<KubernetesWebAppFixture>;

/// <summary>
/// What a client sees when no runner can be started (the API server is away): a clear error it can act on, on /ws
/// closed as "try again later", without the operator's detail (the API server's address stays in the log).
/// </summary>
public sealed class KubernetesUnavailableSessionTests
{
    private const string TryAgain = "could not start a runner for this session; try again in a minute";

    [Fact]
    public async Task A_session_that_gets_no_runner_is_told_to_try_again_later_without_the_servers_details()
    {
        await WithApiServerAwayAsync(async (app, server) =>
        {
            using var socket = new ClientWebSocket();
            await socket.ConnectAsync(app.WebSocketUri, CancellationToken.None);
            await socket.SendAsync(Encoding.UTF8.GetBytes("""{"type":"code","language":"python","source":"print(1)"}"""), WebSocketMessageType.Text, true, CancellationToken.None);
            var messages = new List<string>();
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, new CancellationTokenSource(TimeSpan.FromSeconds(120)).Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                messages.Add(Encoding.UTF8.GetString(buffer, 0, received.Count));
            }

            Assert.True((WebSocketCloseStatus)1013 == socket.CloseStatus, $"closed with {socket.CloseStatus}: {string.Join(" | ", messages)}");
            var error = Assert.Single(messages, m => m.Contains("\"error\"", StringComparison.Ordinal));
            Assert.Contains(TryAgain, error, StringComparison.Ordinal);
            Assert.DoesNotContain(server.BaseAddress.Authority, error, StringComparison.Ordinal);
            Assert.DoesNotContain("Kubernetes", error, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_run_from_the_ide_that_gets_no_runner_ends_with_the_same_error_and_the_connection_stays_usable()
    {
        await WithApiServerAwayAsync(async (app, server) =>
        {
            await using var connection = await HubRun.ConnectAsync(app.BaseAddress);

            var run = HubRun.Start(connection, "python", "print(1)\n");
            await run.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(120));

            var error = Assert.Single(run.Received);
            Assert.Equal("error", error.GetProperty("type").GetString());
            var message = error.GetProperty("message").GetString()!;
            Assert.Contains(TryAgain, message, StringComparison.Ordinal);
            Assert.DoesNotContain(server.BaseAddress.Authority, message, StringComparison.Ordinal);
            Assert.DoesNotContain("Kubernetes", message, StringComparison.Ordinal);
            Assert.Null(run.Error);

            // The hub connection is not broken by it: the next refusal comes over the same connection.
            var again = HubRun.Start(connection, "python", "print(2)\n");
            await again.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(120));
            Assert.Contains(TryAgain, Assert.Single(again.Received).GetProperty("message").GetString(), StringComparison.Ordinal);
        });
    }

    /// <summary>A web app on Kubernetes sessions with an empty pool whose API server stopped after the app started.</summary>
    private static async Task WithApiServerAwayAsync(Func<IrisWebApp, TestKubernetesApiServer, Task> test)
    {
        var folder = Directory.CreateTempSubdirectory("iris-k8s-down-").FullName;
        try
        {
            await using var server = await TestKubernetesApiServer.StartAsync(KubernetesHostHarness.ServerOptions());
            var settings = KubernetesHostHarness.Settings(server, folder, poolSize: 0);
            await using var app = await IrisWebApp.StartAsync(settings);
            await server.StopAsync();
            await test(app, server);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
