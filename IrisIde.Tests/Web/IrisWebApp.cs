using System.Net;
using IrisIde.Tests.Protocol;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Web;

/// <summary>
/// The real IrisIde.Web app on a real Kestrel listening on a free loopback port, with the settings a
/// test needs on top of appsettings.json.
/// </summary>
public sealed class IrisWebApp : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private readonly string? _ownDataDirectory;

    private IrisWebApp(WebApplicationFactory<Program> factory, Uri baseAddress, string? ownDataDirectory)
    {
        _factory = factory;
        BaseAddress = baseAddress;
        _ownDataDirectory = ownDataDirectory;
    }

    public Uri BaseAddress { get; }

    public Uri WebSocketUri => new($"ws://{BaseAddress.Authority}/ws");

    public IServiceProvider Services => _factory.Services;

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    /// <param name="configureServices">Test services on top of the app's (a log capture, a fake clock), or null.</param>
    public static async Task<IrisWebApp> StartAsync(IReadOnlyDictionary<string, string?>? settings = null, Action<IServiceCollection>? configureServices = null)
    {
        // Each app gets its own database in a temporary folder unless the test picks one (a restart test
        // reuses it); never the source tree's data folder.
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        string? ownDataDirectory = null;
        if (!all.ContainsKey("Iris:DataDirectory"))
        {
            ownDataDirectory = CreateDataDirectory();
            all["Iris:DataDirectory"] = ownDataDirectory;
        }

        var factory = new Factory(all, configureServices);
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        try
        {
            await Task.Run(factory.StartServer).WaitAsync(TimeSpan.FromSeconds(120));
        }
        catch when (ownDataDirectory is not null)
        {
            // An app that refused to start (the start-up checks' tests) leaves no folder behind.
            await factory.DisposeAsync();
            Directory.Delete(ownDataDirectory, recursive: true);
            throw;
        }

        var addresses = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        return new IrisWebApp(factory, new Uri(addresses.Addresses.First()), ownDataDirectory);
    }

    /// <summary>A fresh folder for an app's database.</summary>
    public static string CreateDataDirectory()
    {
        var path = Path.Combine(Path.GetTempPath(), "iris-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        if (_ownDataDirectory is not null)
        {
            try
            {
                Directory.Delete(_ownDataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temporary folder is harmless.
            }
        }
    }

    /// <summary>
    /// What every test app starts with, before <see cref="ProtocolTestSandbox.Settings"/> and the test's own.
    /// Most suites run code without an account, so anonymous runs are on here although the product's default is
    /// off; the access tests switch them off again (or leave the setting out with <see cref="ProductDefaults"/>).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> TestDefaults = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "true",
    };

    /// <summary>A settings value that removes a test default, so the app gets the product's own default.</summary>
    public const string ProductDefaults = "\0product-default";

    private sealed class Factory(IReadOnlyDictionary<string, string?> settings, Action<IServiceCollection>? configureServices) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            var all = TestDefaults.Concat(ProtocolTestSandbox.Settings).Concat(settings)
                .GroupBy(s => s.Key, StringComparer.OrdinalIgnoreCase)
                .Select(g => g.Last())
                .Where(s => s.Value != ProductDefaults);
            foreach (var (key, value) in all)
            {
                builder.UseSetting(key, value);
            }

            if (configureServices is not null)
            {
                builder.ConfigureServices(configureServices);
            }
        }
    }
}

/// <summary>A web app started once for all the tests that share the fixture.</summary>
public class IrisWebAppFixture : IAsyncLifetime
{
    private IrisWebApp? _app;

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    /// <summary>Settings on top of appsettings.json; none for the default app.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>();

    public virtual async Task InitializeAsync() => _app = await IrisWebApp.StartAsync(Settings, ConfigureServices);

    /// <summary>Test services on top of the app's; none for the default app.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class IrisWebCollection : ICollectionFixture<IrisWebAppFixture>
{
    public const string Name = "IrisIde.Web on Kestrel";
}
