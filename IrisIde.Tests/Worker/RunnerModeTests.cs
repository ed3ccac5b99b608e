using System.Net;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Worker;

/// <summary>IrisIde.Worker's runner mode, started in-process on a loopback port.</summary>
[Trait("Needs", "Bubblewrap")]
public sealed class RunnerModeTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private InProcessRunner? _runner;

    private Uri BaseAddress => _runner!.BaseAddress;

    public async Task InitializeAsync() => _runner = await InProcessRunner.StartAsync();

    public async Task DisposeAsync()
    {
        if (_runner is not null)
        {
            await _runner.DisposeAsync();
        }
    }

    [Fact]
    public async Task Runner_mode_serves_hello_world_over_ws()
    {
        await using var client = await RunnerTestClient.ConnectAsync(new Uri($"ws://{BaseAddress.Authority}/ws"));

        await client.SendCodeAsync("cpp", "#include <iostream>\nint main() { std::cout << \"Hello from the runner\" << std::endl; }\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Single(client.OfType("compile_success"));
        Assert.Equal("Hello from the runner\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Runner_mode_reports_health_once_warmed_up()
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = Timeout };

        var seen = await _runner!.WaitReadyAsync(http);

        // Unready (503) while its warm-up run goes, then ready; nothing else on the way.
        Assert.Equal(HttpStatusCode.OK, seen[^1]);
        Assert.All(seen.SkipLast(1), status => Assert.Equal(HttpStatusCode.ServiceUnavailable, status));
    }

    [Fact]
    public async Task Runner_mode_warms_up_with_a_session_over_its_own_ws_carrying_its_access_token()
    {
        // A runner of a session host: its /ws answers only with the token, as in a container or pod.
        using var logs = new CapturedLogs();
        await using var runner = await InProcessRunner.StartAsync(logs, "--Iris:Runner:AccessToken=warm-up-token");
        using var http = new HttpClient { BaseAddress = runner.BaseAddress, Timeout = Timeout };

        Assert.Equal(HttpStatusCode.OK, (await runner.WaitReadyAsync(http))[^1]);

        var warmedUp = Assert.Single(logs.Entries, e => e.Contains("[4230]", StringComparison.Ordinal));
        Assert.Contains("through its own /ws, verdict Ok", warmedUp, StringComparison.Ordinal);
        // The session went through the protocol endpoint: the runner's /ws started its run.
        Assert.Single(logs.Entries, e => e.Contains("[3002]", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Contains("[4232]", StringComparison.Ordinal) || e.Contains("[4231]", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Runner_mode_probes_only_the_language_it_warms_up_with_until_asked_for_its_languages()
    {
        // A runner serves one session: probing the whole catalogue while it starts (javac, rustc, go …) was most of
        // its start-up CPU under gVisor. /languages still answers for every language.
        using var logs = new CapturedLogs();
        await using var runner = await InProcessRunner.StartAsync(logs, "--Iris:Runner:AccessToken=t");
        using var http = new HttpClient { BaseAddress = runner.BaseAddress, Timeout = Timeout };
        Assert.Equal(HttpStatusCode.OK, (await runner.WaitReadyAsync(http))[^1]);

        static string[] Probed(CapturedLogs logs) =>
            [.. logs.Entries.Where(e => e.Contains("[1301]", StringComparison.Ordinal) || e.Contains("[1302]", StringComparison.Ordinal))];
        Assert.Contains("Language python available", Assert.Single(Probed(logs)), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/languages") { Headers = { Authorization = new("Bearer", "t") } };
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var catalogue = Execution.Languages.LanguageCatalog.LoadEmbedded().All.Count;
        Assert.Equal(catalogue, Probed(logs).Length);
    }
}

public sealed class WorkerModeTests
{
    [Fact]
    public async Task Worker_mode_without_a_broker_exits_with_code_2()
    {
        var exitCode = await IrisIde.Worker.Program.Main(["worker", "--ConnectionStrings:RabbitMq="]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
    }

    [Theory]
    [InlineData("", "set ConnectionStrings:RabbitMq")]
    [InlineData("http://127.0.0.1:5672/", "must be an AMQP URI")]
    [InlineData("amqp://127.0.0.1/a/b", "%2F")]
    public void Worker_mode_refuses_a_missing_or_wrong_broker_address_with_the_reason(string connectionString, string reason)
    {
        var error = Assert.Throws<IrisIde.Worker.WorkerConfigurationException>(() => IrisIde.Worker.WorkerHost.Build([$"--ConnectionStrings:RabbitMq={connectionString}"]));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_mode_prints_usage_and_exits_with_code_2()
    {
        var exitCode = await IrisIde.Worker.Program.Main([]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
    }

    [Theory]
    [InlineData("Bubblewrap", "bubblewrap")]
    [InlineData("process", "process")]
    public async Task Sandbox_kind_selects_the_sandbox(string kind, string expectedName)
    {
        await using var app = IrisIde.Worker.RunnerHost.Build([$"--Iris:Sandbox:Kind={kind}", "--urls", "http://127.0.0.1:0"]);

        var sandbox = app.Services.GetRequiredService<IrisIde.Execution.Sandboxing.ISandbox>();

        Assert.Equal(expectedName, sandbox.Name);
    }

    [Fact]
    public void Unknown_sandbox_kind_fails_at_start_up_with_a_clear_message()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IrisIde.Worker.RunnerHost.Build(["--Iris:Sandbox:Kind=Chroot"]));

        Assert.Contains("Chroot", error.Message, StringComparison.Ordinal);
    }
}
