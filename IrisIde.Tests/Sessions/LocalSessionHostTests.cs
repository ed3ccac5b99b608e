using IrisIde.Execution;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Telemetry;
using IrisIde.Tests.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Sessions;

[Trait("Needs", "Bubblewrap")]
public sealed class LocalSessionHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = PipelineFixture.Timeout;
    private ServiceProvider _services = default!;

    private ISessionHost Host => _services.GetRequiredService<ISessionHost>();

    public Task InitializeAsync()
    {
        _services = Build([]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _services.DisposeAsync();

    [Fact]
    public async Task A_session_disposed_twice_and_concurrently_is_stopped_once_without_an_error()
    {
        var session = await StartAsync("import time\ntime.sleep(60)\n");

        // Before the fix the second dispose threw ObjectDisposedException (the /ws handler disposes its
        // run when the connection ends and again when the connection itself is disposed).
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => session.DisposeAsync().AsTask())).WaitAsync(Timeout);
        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.Killed, outcome.Verdict);
    }

    [Fact]
    public async Task Controls_used_after_dispose_are_refused_quietly()
    {
        var session = await StartAsync("print(input())\n");
        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.False(await session.WriteInputAsync("late\n", CancellationToken.None).AsTask().WaitAsync(Timeout));
        session.CloseInput();
        session.Signal(2);
        session.Stop();
    }

    [Fact]
    public async Task The_local_host_reports_the_languages_of_its_sandbox()
    {
        var languages = await Host.GetLanguagesAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Contains(languages, l => l.Language.Id == "python" && l.IsAvailable);
        Assert.Equal(LocalSessionHost.HostName, Host.Name);
    }

    [Theory]
    [InlineData(BackendSelection.SessionHostKey, "Kubernetez", "Local")]
    [InlineData(BackendSelection.SandboxKindKey, "chroot", "Bubblewrap, Process")]
    public void An_unknown_backend_stops_start_up_naming_the_valid_ones(string key, string value, string valid)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Build(new() { [key] = value }));

        Assert.Contains($"{key}='{value}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(valid, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backend_names_are_matched_without_regard_to_case()
    {
        using var services = Build(new() { [BackendSelection.SessionHostKey] = "local", [BackendSelection.SandboxKindKey] = "process" });

        // Whatever the backend, surfaces get it behind admission (and measured).
        var metered = Assert.IsType<MeteringSessionHost>(services.GetRequiredService<ISessionHost>());
        var host = Assert.IsType<AdmittingSessionHost>(metered.Inner);
        Assert.IsType<LocalSessionHost>(host.Inner);
        Assert.Equal("process", services.GetRequiredService<ISandbox>().Name);
    }

    private async Task<IRunSession> StartAsync(string source) =>
        await Host.StartAsync(RunRequestFactory.Interactive("python", [new SourceFile(string.Empty, source)]), SessionOwner.System(SessionSurface.Hub), CancellationToken.None).WaitAsync(Timeout);

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}
