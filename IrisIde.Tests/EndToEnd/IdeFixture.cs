using IrisIde.Tests.Web;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The real web app on Kestrel (real bubblewrap sandbox) and one headless Debian chromium, both
/// started once for every end-to-end test; each test opens its own browser context.
/// </summary>
public sealed class IdeFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium (TEST_PACKAGES in ./iris); Playwright never downloads a browser here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>The sandbox uid of this app's runs: no other test runs programs as it, so leftovers are ours.</summary>
    public const int SandboxUid = 63070;

    public const int SandboxUidCount = 16;

    /// <summary>Interactive output allowed per stream per minute in this app (see <see cref="InitializeAsync"/>).</summary>
    public const long FloodOutputBytes = 16 * 1024 * 1024;

    /// <summary>The page's size in tests and screenshots; the layout is meant to work from 1024 px up.</summary>
    public static readonly ViewportSize Viewport = new() { Width = 1280, Height = 800 };

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ];

    private IrisWebApp? _app;
    private LoopbackProxy? _proxy;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    /// <summary>The app behind a relay whose connections a test can cut (see <see cref="LoopbackProxy"/>).</summary>
    public LoopbackProxy Proxy => _proxy ?? throw new InvalidOperationException("The proxy has not started.");

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async Task InitializeAsync()
    {
        // The driver would fetch a browser build if asked to install one; nothing here asks, and
        // this makes sure nothing can.
        Environment.SetEnvironmentVariable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1");
        _app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:CgroupParent"] = "iris-e2e-tests",
            ["Iris:Sandbox:Uid"] = SandboxUid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = SandboxUidCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // 16 MiB instead of 1 MiB a minute: at full speed 1 MiB is out in a third of a second, too
            // short a flood to show whether the page stays responsive while output pours in.
            ["Iris:Limits:Interactive:OutputBytes"] = FloodOutputBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        _proxy = new LoopbackProxy(_app.BaseAddress);
        _playwright = await Playwright.CreateAsync().WaitAsync(TimeSpan.FromSeconds(60));
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            Timeout = 60_000,
        }).WaitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>A fresh browser context (own storage, own connections) with the IDE page loaded and ready.</summary>
    public async Task<IdePage> OpenIdeAsync(bool throughProxy = false)
    {
        var baseAddress = throughProxy ? Proxy.BaseAddress : App.BaseAddress;
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = Viewport,
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(IdePage.Timeout);
        try
        {
            // Longer than the page's own waits, so their messages (what the page showed) win.
            return await IdePage.OpenAsync(context).WaitAsync(IdePage.Timeout * 3);
        }
        catch
        {
            await context.CloseAsync().WaitAsync(IdePage.Timeout);
            throw;
        }
    }

    /// <summary>A fresh browser context on an app a test started itself, with the page size and theme of every end-to-end test.</summary>
    public async Task<IBrowserContext> NewContextAsync(IrisWebApp app)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = app.BaseAddress.ToString(),
            ViewportSize = Viewport,
            ColorScheme = ColorScheme.Dark,
        }).WaitAsync(IdePage.Timeout);
        context.SetDefaultTimeout((float)IdePage.Timeout.TotalMilliseconds);
        return context;
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _playwright?.Dispose();
        if (_proxy is not null)
        {
            await _proxy.DisposeAsync();
        }

        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class IdeCollection : ICollectionFixture<IdeFixture>
{
    public const string Name = "The IDE in chromium";
}
