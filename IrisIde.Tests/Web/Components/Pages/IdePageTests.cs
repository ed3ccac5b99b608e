using System.Text;
using System.Text.Json.Nodes;
using IrisIde.Execution.Languages;
using IrisIde.Tests.Protocol;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Web.Components.Pages;

/// <summary>The IDE page as the server renders it (the interactive parts are covered in EndToEnd).</summary>
public sealed class IdePageTests
{
    [Fact]
    public async Task A_language_without_its_toolchain_is_listed_disabled_with_the_reason()
    {
        await using var factory = new MissingToolchainFactory();
        using var http = factory.CreateClient();

        var html = await http.GetStringAsync(new Uri("/", UriKind.Relative)).WaitAsync(TimeSpan.FromSeconds(60));

        var option = OptionFor(html, "missinglang");
        Assert.Contains(" disabled", option, StringComparison.Ordinal);
        Assert.Contains("unavailable: &#x27;iris-no-such-compiler&#x27; is not installed", option, StringComparison.Ordinal);
        Assert.Contains("title=\"Missing Lang is not available on this server:", option, StringComparison.Ordinal);
        Assert.DoesNotContain(" disabled", OptionFor(html, "python"), StringComparison.Ordinal);
    }

    private static string OptionFor(string html, string id)
    {
        var start = html.IndexOf($"<option value=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no option for {id}");
        return html[start..html.IndexOf("</option>", start, StringComparison.Ordinal)];
    }

    /// <summary>The app with the real catalogue plus one language whose version probe cannot succeed here.</summary>
    private sealed class MissingToolchainFactory : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            foreach (var (key, value) in IrisWebApp.TestDefaults.Concat(ProtocolTestSandbox.Settings))
            {
                builder.UseSetting(key, value);
            }

            // A database of its own, never the source tree's data folder (a database left there by an older
            // build of a branch holds migrations this build does not know).
            builder.UseSetting("Iris:DataDirectory", IrisWebApp.CreateDataDirectory());

            builder.ConfigureTestServices(services => services.AddSingleton(CatalogWithMissingLanguage()));
        }

        private static LanguageCatalog CatalogWithMissingLanguage()
        {
            using var embedded = typeof(LanguageCatalog).Assembly.GetManifestResourceStream(
                typeof(LanguageCatalog).Assembly.GetManifestResourceNames().Single(n => n.EndsWith("languages.json", StringComparison.Ordinal)))!;
            var json = JsonNode.Parse(embedded)!;
            json["languages"]!.AsArray().Add(new JsonObject
            {
                ["id"] = "missinglang",
                ["aliases"] = new JsonArray("missinglang"),
                ["displayName"] = "Missing Lang",
                ["fileName"] = "main.missing",
                ["run"] = new JsonArray("iris-no-such-compiler", "{file}"),
                ["version"] = new JsonArray("iris-no-such-compiler", "--version"),
                ["monaco"] = "plaintext",
                ["debianPackages"] = new JsonArray("iris-no-such-package"),
                ["template"] = "hello\n",
                ["hello"] = "hello\n",
            });
            return LanguageCatalog.Load(new MemoryStream(Encoding.UTF8.GetBytes(json.ToJsonString())));
        }
    }
}
