using System.Text.Json;
using Bunit;
using IrisIde.Execution.Runs;
using IrisIde.Web.Hubs;
using Microsoft.Extensions.DependencyInjection;
using RunEvent = IrisIde.Web.Components.Terminal.RunEvent;
using TerminalPane = IrisIde.Web.Components.Terminal.Terminal;

namespace IrisIde.Tests.Web.Components.Terminal;

/// <summary>
/// The terminal component with bunit: what it hands its JS module when it attaches (strict interop, so any
/// call the test did not expect fails it), that it reports ready only then, and that it passes run events on.
/// </summary>
public sealed class TerminalComponentTests : BunitContext
{
    private readonly BunitJSInterop _module;

    public TerminalComponentTests()
    {
        JSInterop.Mode = JSRuntimeMode.Strict;
        _module = JSInterop.SetupModule("./Components/Terminal/Terminal.razor.js");
        // The handle's dispose runs when the test's renderer is disposed.
        _module.SetupModule("attach", _ => true).SetupVoid("dispose").SetVoidResult();
        Services.AddOptions<ExecutionHubOptions>().Configure(o => o.ClientTimeoutSeconds = 9);
        Services.AddOptions<ExecutionOptions>().Configure(o => o.MaxSourceBytesPerFile = 1234);
    }

    [Fact]
    public void Attaching_passes_the_hub_address_the_source_limit_a_keep_alive_within_the_client_timeout_and_the_theme()
    {
        var ready = 0;

        var terminal = Render<TerminalPane>(p => p.Add(t => t.Theme, "light").Add(t => t.OnReady, () => ready++));

        terminal.WaitForAssertion(() => Assert.Equal(1, ready), TimeSpan.FromSeconds(30));
        Assert.True(terminal.Instance.IsReady);
        var attach = Assert.Single(_module.Invocations["attach"]);
        using var settings = JsonDocument.Parse(JsonSerializer.Serialize(attach.Arguments[2]));
        Assert.Equal("http://localhost/hubs/execution", settings.RootElement.GetProperty("hubUrl").GetString());
        Assert.Equal(1234, settings.RootElement.GetProperty("maxSourceBytes").GetInt32());
        // Three pings within the hub's 9 s client timeout.
        Assert.Equal(3000, settings.RootElement.GetProperty("keepAliveMs").GetInt32());
        Assert.Equal("light", settings.RootElement.GetProperty("theme").GetString());
    }

    [Fact]
    public async Task Run_events_from_the_module_reach_the_page()
    {
        var events = new List<RunEvent>();
        var terminal = Render<TerminalPane>(p => p.Add(t => t.OnRunEvent, e => events.Add(e)));

        await terminal.InvokeAsync(() => terminal.Instance.ReportRunEvent(new RunEvent("exit", Verdict: "ok", ExitCode: 0)));

        var exit = Assert.Single(events);
        Assert.Equal("exit", exit.Type);
        Assert.Equal("ok", exit.Verdict);
    }
}
