using System.Net;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Worker;

/// <summary>IrisIde.Worker's runner mode started in this process on a loopback port, with the protocol tests' sandbox.</summary>
internal sealed class InProcessRunner : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly WebApplication _app;

    private InProcessRunner(WebApplication app, Uri baseAddress) => (_app, BaseAddress) = (app, baseAddress);

    public Uri BaseAddress { get; }

    public Uri WebSocketUri => new($"ws://{BaseAddress.Authority}/ws");

    /// <summary>Starts a runner; <paramref name="arguments"/> are added to its command line (e.g. <c>--Iris:Runner:AccessToken=…</c>).</summary>
    public static Task<InProcessRunner> StartAsync(params string[] arguments) => StartAsync(logs: null, arguments);

    /// <summary>As <see cref="StartAsync(string[])"/>, its log entries also going to <paramref name="logs"/>.</summary>
    public static async Task<InProcessRunner> StartAsync(CapturedLogs? logs, params string[] arguments)
    {
        var args = new List<string> { "--urls", "http://127.0.0.1:0" };
        args.AddRange(ProtocolTestSandbox.Settings.Select(s => $"--{s.Key}={s.Value}"));
        args.AddRange(arguments);
        var app = IrisIde.Worker.RunnerHost.Build([.. args], builder => logs?.AddTo(builder.Services));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        return new InProcessRunner(app, new Uri(addresses.Addresses.First()));
    }

    /// <summary>
    /// Asks <c>/healthz</c> until the answer is not 503 (the runner warms up with one run through its pipeline first) or
    /// the timeout passed; returns every status seen, in order.
    /// </summary>
    public async Task<IReadOnlyList<HttpStatusCode>> WaitReadyAsync(HttpClient http)
    {
        var seen = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            using var response = await http.GetAsync(new Uri(BaseAddress, "/healthz"));
            seen.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                return seen;
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Timeout);
        await _app.DisposeAsync();
    }
}
