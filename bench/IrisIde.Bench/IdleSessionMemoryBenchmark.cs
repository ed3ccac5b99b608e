using System.Globalization;
using Microsoft.Playwright;

namespace IrisIde.Bench;

/// <summary>
/// Server memory per idle IDE session: the web app's resident memory with one page open (the
/// baseline, same run) and with N pages open in Debian's Chromium, each a live Blazor circuit with
/// the editor and terminal loaded. Memory is far less noisy than time, so absolute MB are printed too.
/// </summary>
internal sealed class IdleSessionMemoryBenchmark(int sessions)
{
    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
    ];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine($"5. server memory per idle IDE session ({sessions} sessions in Chromium)");
        await using var web = await WebAppProcess.StartAsync(cancellationToken);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ChromiumArgs,
        });
        var url = $"http://127.0.0.1:{web.Port}/";

        var pages = new List<IPage> { await OpenIdleSessionAsync(browser, url) };
        await SettleAsync(cancellationToken);
        var baseline = web.ResidentBytes();

        // One at a time: two cores also have to run Chromium's renderers.
        while (pages.Count < sessions)
        {
            pages.Add(await OpenIdleSessionAsync(browser, url));
            if (pages.Count % 10 == 0)
            {
                Console.WriteLine($"   ... {pages.Count} sessions open");
            }
        }

        await SettleAsync(cancellationToken);
        var loaded = web.ResidentBytes();
        var perSession = (loaded - baseline) / (double)(sessions - 1);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {"server RSS, 1 session",-28} {baseline / 1048576.0,8:0.0} MB"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {$"server RSS, {sessions} sessions",-28} {loaded / 1048576.0,8:0.0} MB"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {"per idle session",-28} {perSession / 1048576.0,8:0.00} MB  ({perSession / baseline:0.000}x the 1-session server)"));
    }

    private static async Task<IPage> OpenIdleSessionAsync(IBrowser browser, string url)
    {
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 800 } });
        await page.GotoAsync(url, new() { Timeout = 120_000 });
        // The Run button is enabled once the circuit is interactive and the editor has loaded.
        await page.WaitForSelectorAsync("[data-testid=run-button]:not([disabled])", new() { Timeout = 120_000 });
        return page;
    }

    private static Task SettleAsync(CancellationToken cancellationToken) => Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);
}
