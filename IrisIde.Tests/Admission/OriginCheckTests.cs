using System.Net;
using System.Net.WebSockets;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Admission;

/// <summary>
/// Cross-site WebSocket hijacking: another site's page in a student's browser must not open runs as that
/// student. Browsers always send Origin on an upgrade; scripts and the seed clients send none.
/// </summary>
[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class OriginCheckTests(IrisWebAppFixture fixture)
{
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    [Theory]
    [InlineData("/ws")]
    [InlineData("/run")]
    [InlineData("/hubs/execution")]
    public async Task An_upgrade_from_another_sites_page_is_refused_with_403_before_the_upgrade(string path)
    {
        var error = await Assert.ThrowsAsync<WebSocketException>(() =>
            RunnerTestClient.ConnectAsync(new Uri(fixture.App.WebSocketUri, path), new Dictionary<string, string> { ["Origin"] = "http://evil.example" }));

        Assert.Contains("403", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("http://evil.example:80/path")]
    [InlineData("not a url")]
    public async Task An_opaque_or_malformed_origin_is_refused(string origin)
    {
        await Assert.ThrowsAsync<WebSocketException>(() =>
            RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri, new Dictionary<string, string> { ["Origin"] = origin }));
    }

    [Fact]
    public async Task The_hub_negotiate_call_from_another_site_is_refused_too()
    {
        using var http = fixture.App.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hubs/execution/negotiate?negotiateVersion=1");
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await http.SendAsync(request).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task The_servers_own_origin_and_clients_without_origin_run()
    {
        var own = $"http://{fixture.App.BaseAddress.Authority}";
        foreach (var headers in new[] { new Dictionary<string, string> { ["Origin"] = own }, new Dictionary<string, string>() })
        {
            await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri, headers);
            await client.SendCodeAsync("python", "print('hi')\n");
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("hi\n", client.Text("stdout"));
        }
    }

    [Fact]
    public async Task A_configured_origin_is_allowed_and_others_still_refused()
    {
        await using var app = await AdmissionSurfaceTests.StartAppAsync(new() { ["Iris:Security:AllowedOrigins:0"] = "https://ide.example.edu" });

        await using (var allowed = await RunnerTestClient.ConnectAsync(app.WebSocketUri, new Dictionary<string, string> { ["Origin"] = "https://IDE.example.edu:443" }))
        {
            await allowed.SendCodeAsync("python", "print('hi')\n");
            await allowed.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("hi\n", allowed.Text("stdout"));
        }

        await Assert.ThrowsAsync<WebSocketException>(() =>
            RunnerTestClient.ConnectAsync(app.WebSocketUri, new Dictionary<string, string> { ["Origin"] = "https://ide.example.edu.evil.example" }));
    }

    [Fact]
    public async Task An_allowed_origin_that_is_not_an_origin_stops_start_up()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            AdmissionSurfaceTests.StartAppAsync(new() { ["Iris:Security:AllowedOrigins:0"] = "https://ide.example.edu/path" }));

        Assert.Contains("Iris:Security:AllowedOrigins: 'https://ide.example.edu/path' is not an origin", error.ToString(), StringComparison.Ordinal);
    }
}
