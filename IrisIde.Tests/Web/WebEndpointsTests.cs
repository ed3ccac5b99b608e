using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IrisIde.Tests.Web;

[Collection(IrisWebCollection.Name)]
public sealed class WebEndpointsTests(IrisWebAppFixture fixture)
{
    private static readonly string[] RequiredLanguages = ["c", "cpp", "python", "go", "java", "javascript"];

    [Fact]
    public async Task Languages_api_lists_every_catalogue_language_with_availability()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/api/v1/languages", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var languages = json.RootElement.GetProperty("languages").EnumerateArray().ToDictionary(l => l.GetProperty("id").GetString()!);
        var catalog = IrisIde.Execution.Languages.LanguageCatalog.LoadEmbedded();
        Assert.Equal(catalog.All.Select(l => l.Id).Order(), languages.Keys.Order());
        foreach (var id in RequiredLanguages)
        {
            var language = languages[id];
            Assert.True(language.GetProperty("available").GetBoolean(), $"{id}: {language.GetProperty("reason")}");
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("version").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("template").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("displayName").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("fileName").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("monaco").GetString()));
            Assert.False(string.IsNullOrWhiteSpace(language.GetProperty("installHint").GetString()));
            Assert.Contains(language.GetProperty("aliases").EnumerateArray(), a => a.GetString() == id);
        }

        Assert.True(languages["c"].GetProperty("compiled").GetBoolean());
        Assert.False(languages["python"].GetProperty("compiled").GetBoolean());
        Assert.Contains(languages["cpp"].GetProperty("aliases").EnumerateArray(), a => a.GetString() == "c++");
    }

    [Fact]
    public async Task Healthz_reports_healthy()
    {
        using var http = fixture.App.CreateHttpClient();

        var body = await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal("Healthy", body);
    }

    [Fact]
    public async Task Home_page_is_the_ide_with_its_controls_and_scripts()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));
        var html = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        foreach (var testId in new[] { "run-button", "stop-button", "language-select", "terminal", "status-line", "theme-toggle" })
        {
            Assert.Contains($"data-testid=\"{testId}\"", html, StringComparison.Ordinal);
        }

        // Through @Assets: the script's fingerprinted name, served by .NET 10's own static assets.
        var script = Regex.Match(html, "<script src=\"(_framework/blazor\\.web\\.[a-z0-9]+\\.js)\"></script>");
        Assert.True(script.Success, "no fingerprinted blazor.web.js script tag in the page");
        using var scriptResponse = await http.GetAsync(new Uri("/" + script.Groups[1].Value, UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, scriptResponse.StatusCode);
        Assert.Contains("<dialog id=\"components-reconnect-modal\"", html, StringComparison.Ordinal);
        Assert.Contains("Components/Layout/ReconnectModal.razor", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/_framework/blazor.web.js")]
    [InlineData("/lib/xterm/xterm.mjs")]
    [InlineData("/lib/xterm-addon-fit/addon-fit.mjs")]
    [InlineData("/lib/signalr/signalr.min.js")]
    [InlineData("/_content/BlazorMonaco/jsInterop.js")]
    [InlineData("/Components/Terminal/Terminal.razor.js")]
    [InlineData("/Components/Terminal/lineDiscipline.js")]
    [InlineData("/Components/Editor/SourceEditor.razor.js")]
    [InlineData("/Components/Pages/Ide.razor.js")]
    [InlineData("/Components/Layout/ReconnectModal.razor.js")]
    public async Task Ide_scripts_are_served_as_javascript(string path)
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri(path, UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.True(body.Length > 100, $"{path} is {body.Length} characters long");
    }
}

/// <summary>The web app with anonymous runs switched off (and no sign-in yet, so nobody may run).</summary>
public sealed class AnonymousRunsDisabledAppFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
    };
}

public sealed class AnonymousRunsTests(AnonymousRunsDisabledAppFixture fixture) : IClassFixture<AnonymousRunsDisabledAppFixture>
{
    [Fact]
    public async Task Websocket_is_refused_with_401_before_upgrade_when_anonymous_runs_are_disabled()
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(fixture.App.WebSocketUri, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60)));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    [Fact]
    public async Task Languages_stay_readable_when_anonymous_runs_are_disabled()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/api/v1/languages", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
