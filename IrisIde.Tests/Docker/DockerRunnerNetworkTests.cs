using System.Net;
using Docker.DotNet.Models;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Docker;

namespace IrisIde.Tests.Docker;

/// <summary>
/// Runners on an internal Docker network (<c>Iris:Sessions:Docker:Network</c>), as a runtime whose containers are VMs
/// (Kata) needs: the web app reaches each one at its address with a token of that runner's own, so a student's
/// program in one runner cannot use another runner, and nothing on the network leads out of the host.
/// </summary>
[Trait("Needs", "Docker")]
public sealed class DockerRunnerNetworkTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:docker-net-test", "docker-net-test", null, SessionSurface.WebSocket);

    private readonly string _network = "iris-test-runners-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        using var client = DockerTestEngine.CreateClient();
        await client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = _network, Driver = "bridge", Internal = true });
    }

    public async Task DisposeAsync()
    {
        using var client = DockerTestEngine.CreateClient();
        await client.Networks.DeleteNetworkAsync(_network);
    }

    [Fact]
    public async Task A_session_reaches_its_runner_on_the_network_and_a_program_in_another_runner_is_refused_by_it()
    {
        await using var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Sessions:Docker:Network"] = _network });

        // The victim: a session waiting for its input.
        var victim = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("print('victim: ' + input())\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var victimContainer = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));
        string victimAddress;
        using (var client = DockerTestEngine.CreateClient())
        {
            var inspected = await client.Containers.InspectContainerAsync(victimContainer.ID);
            Assert.Equal(_network, inspected.HostConfig!.NetworkMode);
            Assert.Empty(inspected.HostConfig.Binds ?? []);
            Assert.True(inspected.HostConfig.ReadonlyRootfs);
            Assert.Equal(["ALL"], inspected.HostConfig.CapDrop);
            victimAddress = Assert.Single(inspected.NetworkSettings!.Networks!).Value.IPAddress;
        }

        // Anyone reaching the port without the runner's token (here the test itself) is refused; health is open.
        using (var http = new HttpClient { BaseAddress = new Uri($"http://{victimAddress}:{DockerRunner.NetworkPort}/"), Timeout = Timeout })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("languages", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("healthz", UriKind.Relative))).StatusCode);
        }

        // The attacker: a program in a second runner on the same network asks the victim's runner for a session,
        // then tries to leave the network.
        var attacker = await harness.Host.StartAsync(DockerSessionHostTests.Interactive($$"""
            import socket, urllib.error, urllib.request
            try:
                urllib.request.urlopen('http://{{victimAddress}}:{{DockerRunner.NetworkPort}}/languages', timeout=10)
                print('languages: open')
            except urllib.error.HTTPError as e:
                print('languages:', e.code)
            s = socket.socket()
            s.settimeout(3)
            try:
                s.connect(('192.0.2.1', 80))
                print('outside: reached')
            except OSError as e:
                print('outside: refused')
            """), Owner, CancellationToken.None).WaitAsync(Timeout);
        var (attackerOutput, attackerOutcome) = await DockerSessionHostTests.ReadToEndAsync(attacker);
        await attacker.DisposeAsync();

        Assert.Equal(Verdict.Ok, attackerOutcome.Verdict);
        Assert.Equal("languages: 401\noutside: refused\n", attackerOutput);

        // The victim's session is untouched and runs through the token the web app holds.
        Assert.True(await victim.WriteInputAsync("still mine\n", CancellationToken.None));
        var (victimOutput, victimOutcome) = await DockerSessionHostTests.ReadToEndAsync(victim);
        Assert.Equal("victim: still mine\n", victimOutput);
        Assert.Equal(Verdict.Ok, victimOutcome.Verdict);
        await victim.DisposeAsync();

        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task A_network_that_is_missing_or_leads_out_is_refused_before_any_runner_is_made()
    {
        var open = _network + "-open";
        using var client = DockerTestEngine.CreateClient();
        await client.Networks.CreateNetworkAsync(new NetworksCreateParameters { Name = open, Driver = "bridge", Internal = false });
        try
        {
            await using (var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Sessions:Docker:Network"] = open }))
            {
                var refused = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));
                Assert.Contains("is not internal", refused.Message, StringComparison.Ordinal);
                Assert.Empty(await DockerTestEngine.RunnersAsync(harness.Replica));
            }

            await using (var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Sessions:Docker:Network"] = _network + "-missing" }))
            {
                var missing = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(DockerSessionHostTests.Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));
                Assert.Equal(DockerFailure.NotFound, missing.Kind);
                Assert.Contains("docker network create --internal", missing.Message, StringComparison.Ordinal);
                Assert.Empty(await DockerTestEngine.RunnersAsync(harness.Replica));
            }
        }
        finally
        {
            await client.Networks.DeleteNetworkAsync(open);
        }
    }
}
