using System.Globalization;
using System.Net.WebSockets;
using Microsoft.Playwright;

namespace IrisIde.Bench;

/// <summary>
/// What an open admin dashboard costs the server: its CPU with N interactive sessions open (each a sandboxed python
/// waiting for input over <c>/ws</c>) and the dashboard closed, then open in Debian's Chromium (pushed every second:
/// a database read and the sessions' cgroup figures), then closed again; the extra as a share of one core.
/// </summary>
internal sealed class DashboardBenchmark(int sessions)
{
    private const string AdminEmail = "bench-dashboard@iris.invalid";
    private const string AdminPassword = "bench dashboard admin password";
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private static readonly string[] ChromiumArgs =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
    ];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("iris-bench-dashboard-");
        var sockets = new List<ClientWebSocket>();
        try
        {
            var environment = new Dictionary<string, string>
            {
                ["Iris__DataDirectory"] = data.FullName,
                ["Iris__Admission__MaxSessions"] = (sessions + 10).ToString(CultureInfo.InvariantCulture),
                ["Iris__Auth__AllowAnonymousRuns"] = "true",
            };
            await WebAppProcess.AdminAsync(environment, ["user", "add", AdminEmail, "--role", "admin", "--password-stdin"], AdminPassword, cancellationToken);
            await using var web = await WebAppProcess.StartAsync(environment, cancellationToken);

            // Open the sessions a few at a time: each is a sandbox to make on two cores.
            using var gate = new SemaphoreSlim(8);
            var opening = Enumerable.Range(0, sessions).Select(async _ =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    return await OpenIdleSessionAsync(web.Port, cancellationToken);
                }
                finally
                {
                    gate.Release();
                }
            });
            sockets.AddRange(await Task.WhenAll(opening));
            await Task.Delay(TimeSpan.FromSeconds(5), cancellationToken);

            var closedBefore = await CpuOverAsync(web, cancellationToken);
            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true, Args = ChromiumArgs });
            var page = await browser.NewPageAsync();
            await page.GotoAsync($"http://127.0.0.1:{web.Port}/account/signin", new() { Timeout = 120_000 });
            await page.GetByTestId("email").FillAsync(AdminEmail);
            await page.GetByTestId("password").FillAsync(AdminPassword);
            await page.GetByTestId("submit").ClickAsync();
            await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", new() { Timeout = 120_000 });
            await page.GotoAsync($"http://127.0.0.1:{web.Port}/admin", new() { Timeout = 120_000 });
            var shown = sessions.ToString(CultureInfo.InvariantCulture);
            await page.WaitForFunctionAsync(
                $"() => document.querySelector('[data-testid=session-count]')?.textContent.trim() === '{shown}'",
                null,
                new() { Timeout = 120_000 });
            var open = await CpuOverAsync(web, cancellationToken);
            await page.CloseAsync();
            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
            var closedAfter = await CpuOverAsync(web, cancellationToken);

            var closed = (closedBefore + closedAfter) / 2;
            Console.WriteLine();
            Console.WriteLine($"9. admin dashboard open vs closed, {sessions} idle interactive sessions, web app CPU over {Window.TotalSeconds:0} s each");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   closed (before)      {closedBefore * 100:0.00} % of a core"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   open                 {open * 100:0.00} % of a core"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   closed (after)       {closedAfter * 100:0.00} % of a core"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   open - closed        {(open - closed) * 100:0.00} % of a core (target < 5 %); open / closed {open / Math.Max(closed, 1e-6):0.00}x"));
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Abort();
                socket.Dispose();
            }

            data.Delete(recursive: true);
        }
    }

    /// <summary>The web app's CPU over <see cref="Window"/>, as a share of one core.</summary>
    private static async Task<double> CpuOverAsync(WebAppProcess web, CancellationToken cancellationToken)
    {
        var before = web.ProcessorTime;
        await Task.Delay(Window, cancellationToken);
        return (web.ProcessorTime - before).TotalSeconds / Window.TotalSeconds;
    }

    /// <summary>A /ws session whose program printed and now waits for input (idle, as most of a class's are).</summary>
    private static async Task<ClientWebSocket> OpenIdleSessionAsync(int port, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        var socket = await RunnerSocket.StartPythonAsync(port, "print('up', flush=True)\ninput()\n", timeout.Token);
        while (true)
        {
            using var message = await RunnerSocket.ReceiveAsync(socket, timeout.Token)
                ?? throw new InvalidOperationException("/ws closed before the session's program printed");
            switch (message.RootElement.GetProperty("type").GetString())
            {
                case "stdout":
                    return socket;
                case "exit":
                    throw new InvalidOperationException($"a session ended before it waited for input: {message.RootElement}");
            }
        }
    }
}
