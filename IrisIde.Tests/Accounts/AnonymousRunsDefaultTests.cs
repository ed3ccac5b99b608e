using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using IrisIde.Tests.Hubs;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Runner;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// Anonymous runs are off unless configured: an anonymous client is refused on <c>/ws</c>, the hub and both
/// batch APIs, the IDE says "Sign in to run", and a token or a sign-in runs. With the switch on, anonymous runs
/// still meet the per-client caps.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class AnonymousRunsDefaultTests
{
    private const int SandboxUid = 63800;
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    [Fact]
    public async Task By_default_anonymous_runs_are_refused_everywhere_while_a_token_runs()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });
        Assert.False(app.Services.GetRequiredService<IOptions<RunnerAccessOptions>>().Value.AllowAnonymousRuns);
        using var anonymous = app.CreateHttpClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await AccessTokenTests.UpgradeStatusAsync(app.WebSocketUri));
        Assert.Equal(HttpStatusCode.Unauthorized, await AccessTokenTests.UpgradeStatusAsync(new Uri($"ws://{app.BaseAddress.Authority}/run")));
        using (var post = await anonymous.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = "print(1)" }).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
            Assert.Equal("application/problem+json", post.Content.Headers.ContentType?.MediaType);
        }

        using (var post = await anonymous.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), new { language = "python", files = new[] { new { name = "main.py", content = "print(1)" } } }).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        }

        await using (var hub = await HubRun.ConnectAsync(app.BaseAddress))
        {
            var run = HubRun.Start(hub, "python", "print('no')\n");
            await run.ReadToEndAsync().WaitAsync(HubRun.Timeout);
            Assert.Contains("sign-in required", Assert.Single(run.Received).GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        using var visitor = new AccountTestClient(app.BaseAddress);
        var (status, html) = await visitor.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("data-testid=\"sign-in-to-run\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("data-testid=\"run-button\"", html, StringComparison.Ordinal);

        // A token runs on /ws and the batch API; a signed-in browser gets the Run button.
        var email = TestAccounts.NewEmail("default");
        var user = await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        string token;
        await using (var scope = app.Services.CreateAsyncScope())
        {
            token = (await scope.ServiceProvider.GetRequiredService<AccessTokenService>().CreateAsync(user, "t", null, null, user.Id, CancellationToken.None).WaitAsync(Timeout)).Created!.Token;
        }

        await using (var run = await RunnerTestClient.ConnectAsync(app.WebSocketUri, AccessTokenTests.Bearer(token)))
        {
            await run.SendCodeAsync("python", "print('token')\n");
            await run.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("token\n", run.Text("stdout"));
        }

        using var bearer = app.CreateHttpClient();
        bearer.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        await AccessTokenTests.SubmitAsync(bearer);

        using var browser = new AccountTestClient(app.BaseAddress);
        await browser.SignInOrFailAsync(email, TestAccounts.Password);
        var (_, signedInHtml) = await browser.GetAsync("/");
        Assert.Contains("data-testid=\"run-button\"", signedInHtml, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_anonymous_runs_on_an_anonymous_client_still_meets_the_per_client_cap()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = "true",
            ["Iris:Admission:MaxSessionsPerClient"] = "1",
            ["Iris:Sandbox:Uid"] = (SandboxUid + 20).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        });

        await using var first = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await first.SendCodeAsync("python", "print('up', flush=True)\ninput()\n");
        await first.WaitForStdoutAsync("up").WaitAsync(Timeout);
        await using var second = await RunnerTestClient.ConnectAsync(app.WebSocketUri);
        await second.SendCodeAsync("python", "print('never')\n");
        await second.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("too many sessions", second.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
