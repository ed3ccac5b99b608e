using System.Diagnostics;
using IrisIde.Tests.Support;
using Xunit.Abstractions;

namespace IrisIde.Tests.EndToEnd;

/// <summary>The IDE under stress: an output flood, and the network dropping mid-run.</summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class IdeResilienceTests(IdeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Responsive = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task Output_flood_leaves_the_page_responsive_and_ends_with_the_output_limit()
    {
        await using var ide = await fixture.OpenIdeAsync();

        await ide.RunAsync("python", "while True:\n    print('x' * 1000)\n");
        await ide.WaitForTerminalTextAsync("xxxxxxxxxx");

        // While output pours in, the page still reacts within a few seconds.
        var phaseBefore = await ide.PhaseAsync();
        var clock = Stopwatch.StartNew();
        Assert.Equal(2, await ide.Page.EvaluateAsync<int>("1 + 1").WaitAsync(Responsive));
        var evaluated = clock.Elapsed;
        var before = await ide.ThemeAsync();
        await ide.ThemeToggle.ClickAsync().WaitAsync(Responsive);
        await ide.WaitUntilAsync(async () => await ide.ThemeAsync() != before, "the theme to change during the flood", Responsive);
        var themed = clock.Elapsed;

        var phaseAfterToggle = await ide.PhaseAsync();
        var status = await ide.WaitForExitAsync();
        output.WriteLine($"phase {phaseBefore}: 1 + 1 after {evaluated.TotalMilliseconds:0} ms, theme changed after {themed.TotalMilliseconds:0} ms (phase then: {phaseAfterToggle}); {status}");
        Assert.Contains("output_limit", status, StringComparison.Ordinal);
        await ide.WaitUntilAsync(
            async () => (await ide.TerminalTextAsync()).Contains("output limit", StringComparison.OrdinalIgnoreCase),
            "an output limit notice in the terminal");
        Assert.True(evaluated < Responsive, $"1 + 1 took {evaluated.TotalMilliseconds} ms during the flood");
        Assert.True(themed < Responsive * 2, $"the theme toggle took {themed.TotalMilliseconds} ms during the flood");
        HostProcesses.AssertNoneLeft(await ReadySandboxes.RemainingAfterAsync(fixture.App.Services, IdeFixture.SandboxUid, TimeSpan.FromSeconds(5), IdeFixture.SandboxUidCount));
    }

    [Fact]
    public async Task Dropped_connection_shows_the_reconnect_ui_stops_the_running_program_and_run_works_after_reconnecting()
    {
        await using var ide = await fixture.OpenIdeAsync(throughProxy: true);
        await ide.RunAsync("python", "import time\nprint('waiting forever', flush=True)\nwhile True:\n    time.sleep(1)\n");
        await ide.WaitForTerminalTextAsync("waiting forever");
        await ReadySandboxes.DiscardAsync(fixture.App.Services);
        Assert.NotEmpty(HostProcesses.OwnedBy(IdeFixture.SandboxUid, IdeFixture.SandboxUidCount));

        // The network goes away: every socket of the page (circuit and hub) is reset, new ones refused.
        fixture.Proxy.Cut();
        try
        {
            await ide.WaitUntilAsync(
                async () => await ide.EvaluateAsync<bool>("() => document.getElementById('components-reconnect-modal').open"),
                "the reconnect dialog to open");
            Assert.True(await ide.ReconnectModal.IsVisibleAsync().WaitAsync(IdePage.Timeout), "the reconnect modal is visible");

            // The server stops the program of a connection that is gone (the issue allows 10 s).
            var left = await ReadySandboxes.RemainingAfterAsync(fixture.App.Services, IdeFixture.SandboxUid, TimeSpan.FromSeconds(12), IdeFixture.SandboxUidCount);
            Assert.True(left.Count == 0, $"processes of the sandbox uid still running: {string.Join(", ", left)}");
        }
        finally
        {
            fixture.Proxy.Restore();
        }

        await ide.WaitUntilAsync(
            async () => !await ide.ReconnectModal.IsVisibleAsync().WaitAsync(IdePage.Timeout),
            "the reconnect UI to go away after the network came back");
        // The user can run again: Run is enabled (the stopped run no longer counts as running).
        await ide.WaitUntilReadyAsync();

        await ide.SetCodeAsync("print('back', 'again')\n");
        await ide.RunButton.ClickAsync().WaitAsync(IdePage.Timeout);
        await ide.WaitForTerminalTextAsync("back again");
        var status = await ide.WaitForExitAsync();
        Assert.Contains("Exited with code 0", status, StringComparison.Ordinal);
    }
}
