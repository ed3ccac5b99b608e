using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using IrisIde.Tests.Protocol;

namespace IrisIde.Tests.Worker;

/// <summary>
/// A runner given <c>Iris:Runner:AccessToken</c> (as the Docker session host gives each runner on a network) serves
/// its protocol and languages only to the holder of that token: a program in another runner on the same network,
/// or anything else that can reach its port, gets 401. Its health stays open for readiness probes.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class RunnerAccessTokenTests : IAsyncLifetime
{
    private const string Token = "0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D4";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private InProcessRunner? _runner;

    private Uri BaseAddress => _runner!.BaseAddress;

    public async Task InitializeAsync() => _runner = await InProcessRunner.StartAsync($"--Iris:Runner:AccessToken={Token}");

    public async Task DisposeAsync()
    {
        if (_runner is not null)
        {
            await _runner.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer")]
    [InlineData("Bearer 0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D5")]
    [InlineData("Bearer 0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D")]
    [InlineData("Bearer 0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D4x")]
    [InlineData("Bearer 0f3c9a7d5e2b48c1a6d0f9e8b7c6a5d4")]
    [InlineData("Bearer  0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D4")]
    [InlineData("Basic 0F3C9A7D5E2B48C1A6D0F9E8B7C6A5D4")]
    public async Task Without_its_exact_token_the_languages_answer_401(string? authorization)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/languages");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task With_its_token_the_languages_answer_and_health_needs_none()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout };
        var health = await _runner!.WaitReadyAsync(http);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/languages");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        using var languages = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, health[^1]);
        Assert.DoesNotContain(HttpStatusCode.Unauthorized, health);
        Assert.Equal(HttpStatusCode.OK, languages.StatusCode);
        Assert.Contains("\"python\"", await languages.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_websocket_without_the_token_is_refused_before_any_run_and_one_with_it_runs()
    {
        using var refused = new ClientWebSocket();
        refused.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => refused.ConnectAsync(new Uri($"ws://{BaseAddress.Authority}/ws"), CancellationToken.None).WaitAsync(Timeout));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.HttpStatusCode);

        await using var client = await RunnerTestClient.ConnectAsync(
            new Uri($"ws://{BaseAddress.Authority}/ws"), new Dictionary<string, string> { ["Authorization"] = "Bearer " + Token });
        await client.SendCodeAsync("python", "print('with the token')\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("with the token\n", client.Text("stdout"));
    }
}
