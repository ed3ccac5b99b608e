using System.Diagnostics;
using System.Text.Json;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace IrisIde.Tests.Hubs;

/// <summary>The execution hub through the .NET SignalR client to the real web app (default settings).</summary>
[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class ExecutionHubTests(IrisWebAppFixture fixture)
{
    private static readonly TimeSpan Timeout = HubRun.Timeout;

    private Task<HubConnection> ConnectAsync() => HubRun.ConnectAsync(fixture.App.BaseAddress);

    private static HubRun StartRun(HubConnection client, string language, string source) => HubRun.Start(client, language, source);

    [Fact]
    public async Task Python_hello_streams_started_running_stdout_and_exit_zero_in_that_order()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python", "print('Hello, World!')\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var types = run.Received.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal("started", types[0]);
        Assert.True(Guid.TryParse(run.RunId, out _));
        Assert.Equal("running", types[1]);
        Assert.Equal("exit", types[^1]);
        Assert.DoesNotContain("compiling", types);
        Assert.Equal("Hello, World!\n", run.Text("stdout"));
        var exit = run.One("exit");
        Assert.Equal("ok", exit.GetProperty("verdict").GetString());
        Assert.Equal("run", exit.GetProperty("stage").GetString());
        Assert.Equal(0, exit.GetProperty("exitCode").GetInt32());
        Assert.True(exit.GetProperty("timeMs").GetInt64() >= 0);
        Assert.True(exit.GetProperty("cpuMs").GetInt64() >= 0);
        Assert.True(exit.GetProperty("memoryBytes").GetInt64() > 0);
        Assert.False(exit.TryGetProperty("signal", out _));
        Assert.False(exit.TryGetProperty("message", out _));
        // Nulls are left out, never sent.
        Assert.DoesNotContain(run.Received.SelectMany(e => e.EnumerateObject()), p => p.Value.ValueKind == JsonValueKind.Null);
        Assert.Null(run.Error);
    }

    [Fact]
    public async Task Input_is_echoed_and_the_program_greets_the_name()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python", "name = input('Name? ')\nprint(f'Hello, {name}!')\n");
        await run.WaitForTextAsync("stdout", "Name? ").WaitAsync(Timeout);
        await client.InvokeAsync("SendInput", run.RunId, "Ada\r\n").WaitAsync(Timeout);
        await run.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("Ada\n", run.Text("echo"));
        Assert.Equal("Name? Hello, Ada!\n", run.Text("stdout"));
        Assert.Equal(0, run.One("exit").GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task SendEof_closes_stdin_so_a_read_to_the_end_returns()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python", "import sys\nprint('ready', flush=True)\ndata = sys.stdin.read()\nprint(len(data.splitlines()), 'lines')\n");
        await run.WaitForTextAsync("stdout", "ready").WaitAsync(Timeout);
        await client.InvokeAsync("SendInput", run.RunId, "one\ntwo\n").WaitAsync(Timeout);
        await client.InvokeAsync("SendEof", run.RunId).WaitAsync(Timeout);
        await run.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("ready\n2 lines\n", run.Text("stdout"));
        Assert.Equal("ok", run.One("exit").GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task Stop_ends_an_infinite_loop_with_verdict_killed()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python", "print('looping', flush=True)\nwhile True:\n    pass\n");
        await run.WaitForTextAsync("stdout", "looping").WaitAsync(Timeout);
        await client.InvokeAsync("Stop", run.RunId).WaitAsync(Timeout);
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var exit = run.One("exit");
        Assert.Equal("killed", exit.GetProperty("verdict").GetString());
        Assert.Equal(9, exit.GetProperty("signal").GetInt32());
        Assert.False(exit.TryGetProperty("exitCode", out _));
        Assert.Contains("stopped", exit.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Interrupt_raises_KeyboardInterrupt_in_python()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python",
            "import time\ntry:\n    print('waiting', flush=True)\n    while True:\n        time.sleep(0.05)\nexcept KeyboardInterrupt:\n    print('interrupted', flush=True)\n");
        // Python's -u print writes the text and the newline separately: wait for both, or the
        // interrupt can land between them.
        await run.WaitForTextAsync("stdout", "waiting\n").WaitAsync(Timeout);
        await client.InvokeAsync("Interrupt", run.RunId).WaitAsync(Timeout);
        await run.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("waiting\ninterrupted\n", run.Text("stdout"));
        Assert.Equal(0, run.One("exit").GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task C_compile_error_gives_compiled_false_with_a_diagnostic_on_the_right_line()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "c", "#include <stdio.h>\n\nint main(void) {\n    printf(\"%d\\n\", missing);\n    return 0;\n}\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var types = run.Received.Select(e => e.GetProperty("type").GetString()).ToList();
        Assert.Equal(["started", "compiling", "compiled", "exit"], types);
        var compiled = run.One("compiled");
        Assert.False(compiled.GetProperty("success").GetBoolean());
        Assert.Contains("missing", compiled.GetProperty("output").GetString(), StringComparison.Ordinal);
        var error = Assert.Single(compiled.GetProperty("diagnostics").EnumerateArray(), d => d.GetProperty("severity").GetString() == "error");
        Assert.Equal("main.c", error.GetProperty("file").GetString());
        Assert.Equal(4, error.GetProperty("line").GetInt32());
        Assert.Equal(20, error.GetProperty("column").GetInt32());
        Assert.Contains("missing", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        var exit = run.One("exit");
        Assert.Equal("compile_error", exit.GetProperty("verdict").GetString());
        Assert.Equal("compile", exit.GetProperty("stage").GetString());
    }

    [Fact]
    public async Task Successful_compile_reports_warnings_as_diagnostics_then_runs()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "c", "#include <stdio.h>\nint main(void) {\n    int unused;\n    printf(\"hi\\n\");\n    return 0;\n}\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var compiled = run.One("compiled");
        Assert.True(compiled.GetProperty("success").GetBoolean());
        var warning = Assert.Single(compiled.GetProperty("diagnostics").EnumerateArray());
        Assert.Equal("warning", warning.GetProperty("severity").GetString());
        Assert.Equal(3, warning.GetProperty("line").GetInt32());
        Assert.Equal("hi\n", run.Text("stdout"));
    }

    [Fact]
    public async Task Controls_for_a_run_of_another_connection_are_refused()
    {
        await using var owner = await ConnectAsync();
        await using var stranger = await ConnectAsync();

        var run = StartRun(owner, "python", "print('up', flush=True)\nprint(input())\n");
        await run.WaitForTextAsync("stdout", "up").WaitAsync(Timeout);

        foreach (var (method, args) in new (string, object?[])[]
        {
            ("SendInput", [run.RunId, "hijack\n"]), ("SendEof", [run.RunId]), ("Interrupt", [run.RunId]), ("Stop", [run.RunId]),
        })
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => stranger.InvokeCoreAsync(method, args).WaitAsync(Timeout));
            Assert.Contains("another connection", refused.Message, StringComparison.Ordinal);
        }

        var unknown = await Assert.ThrowsAsync<HubException>(() => owner.InvokeAsync("Stop", Guid.NewGuid().ToString()).WaitAsync(Timeout));
        Assert.Contains("no run", unknown.Message, StringComparison.Ordinal);

        await owner.InvokeAsync("SendInput", run.RunId, "mine\n").WaitAsync(Timeout);
        await run.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("up\nmine\n", run.Text("stdout"));
        Assert.DoesNotContain(run.OfType("echo"), e => e.GetProperty("data").GetString()!.Contains("hijack", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cancelling_the_stream_stops_the_run()
    {
        await using var client = await ConnectAsync();
        var marker = Marker();

        var run = StartRun(client, "python", SleeperSource(marker));
        await run.WaitForTextAsync("stdout", "started").WaitAsync(Timeout);
        await RunnerProtocolTests.WaitUntilAsync(() => RunnerProtocolTests.SleepRunning(marker), "the program's child process to appear");
        await run.CancelAsync().WaitAsync(Timeout);

        await WaitGoneAsync(marker, Stopwatch.GetTimestamp(), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_aborted_connection_stops_its_run_within_10_seconds()
    {
        // A killed tab: the socket goes without a close handshake, which the .NET client never does.
        var client = await RawHubClient.ConnectAsync(fixture.App.BaseAddress);
        var marker = Marker();

        var run = await client.StartRunAsync("python", SleeperSource(marker));
        await run.WaitForTextAsync("stdout", "started").WaitAsync(Timeout);
        await RunnerProtocolTests.WaitUntilAsync(() => RunnerProtocolTests.SleepRunning(marker), "the program's child process to appear");
        client.Abort();
        var dropped = Stopwatch.GetTimestamp();
        await client.DisposeAsync();

        await WaitGoneAsync(marker, dropped, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_silently_dropped_connection_stops_its_run_within_10_seconds()
    {
        // A network that silently died: no close frame, no more pings, which the .NET client never does.
        await using var client = await RawHubClient.ConnectAsync(fixture.App.BaseAddress);
        var marker = Marker();

        var run = await client.StartRunAsync("python", SleeperSource(marker));
        await run.WaitForTextAsync("stdout", "started").WaitAsync(Timeout);
        await RunnerProtocolTests.WaitUntilAsync(() => RunnerProtocolTests.SleepRunning(marker), "the program's child process to appear");
        // No close frame, no more pings: only the server's client timeout can notice. (It is armed by the
        // client's first ping, which a browser sends within its keep-alive interval.)
        await client.GoSilentAsync().WaitAsync(Timeout);
        await client.PingAsync().WaitAsync(Timeout);
        var silent = Stopwatch.GetTimestamp();

        await WaitGoneAsync(marker, silent, TimeSpan.FromSeconds(10));
        Assert.NotNull(await client.Closed.WaitAsync(Timeout));
    }

    [Fact]
    public async Task A_200_KiB_source_starts_fine()
    {
        await using var client = await ConnectAsync();
        var source = "# " + new string('x', 200 * 1024) + "\nprint('big ok')\n";

        var run = StartRun(client, "python", source);
        await run.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("big ok\n", run.Text("stdout"));
        Assert.Equal("ok", run.One("exit").GetProperty("verdict").GetString());
    }

    [Fact]
    public async Task A_300_KiB_source_gets_a_clear_error_event_and_the_connection_stays_usable()
    {
        await using var client = await ConnectAsync();
        var source = "# " + new string('x', 300 * 1024) + "\nprint('too big')\n";

        var refused = StartRun(client, "python", source);
        await refused.ReadToEndAsync().WaitAsync(Timeout);

        var error = Assert.Single(refused.Received);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("the limit is 262144 bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        var next = StartRun(client, "python", "print('still here')\n");
        await next.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("still here\n", next.Text("stdout"));
    }

    [Fact]
    public async Task Unknown_language_gets_an_error_event_naming_it()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "cobol", "DISPLAY 'HI'.\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var error = Assert.Single(run.Received);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("cobol", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_flood_arrives_complete_and_in_order()
    {
        await using var client = await ConnectAsync();

        var run = StartRun(client, "python", "import sys\nfor i in range(20000):\n    sys.stdout.write(f'{i}\\n')\n");
        await run.ReadToEndAsync().WaitAsync(Timeout);

        var expected = string.Concat(Enumerable.Range(0, 20000).Select(i => $"{i}\n"));
        Assert.Equal(expected, run.Text("stdout"));
        Assert.Equal("ok", run.One("exit").GetProperty("verdict").GetString());
    }

    internal static string Marker() => $"{Random.Shared.Next(1000, 9999)}.{Random.Shared.Next(100000, 999999)}";

    /// <summary>A program that prints, then waits in a uniquely named sleep the host's /proc can see.</summary>
    internal static string SleeperSource(string marker) =>
        $"import subprocess\nprint('started', flush=True)\nsubprocess.run(['sleep', '{marker}'])\n";

    internal static async Task WaitGoneAsync(string marker, long since, TimeSpan within)
    {
        while (RunnerProtocolTests.SleepRunning(marker))
        {
            if (Stopwatch.GetElapsedTime(since) > within)
            {
                throw new Xunit.Sdk.XunitException($"the program was still running {within.TotalSeconds:0} s after its connection went away");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>A web app with anonymous runs switched off.</summary>
public sealed class NoAnonymousRunsFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
    };
}

public sealed class ExecutionHubAccessTests(NoAnonymousRunsFixture fixture) : IClassFixture<NoAnonymousRunsFixture>
{
    [Fact]
    public async Task Anonymous_StartRun_gets_a_sign_in_error_when_anonymous_runs_are_off()
    {
        await using var client = await HubRun.ConnectAsync(fixture.App.BaseAddress);

        var run = HubRun.Start(client, "python", "print('no')\n");
        await run.ReadToEndAsync().WaitAsync(HubRun.Timeout);

        var error = Assert.Single(run.Received);
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Contains("sign-in required", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
