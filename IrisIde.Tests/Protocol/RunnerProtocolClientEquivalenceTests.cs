using System.Text.Json;
using System.Text.RegularExpressions;
using IrisIde.Execution;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Remote;
using IrisIde.Tests.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Protocol;

/// <summary>
/// The same limits for a <see cref="LocalSessionHost"/> in this process and for a real <c>IrisIde.Worker
/// runner</c> process reached through <see cref="RemoteRunnerSessionHost"/>: small enough that every limit
/// is crossed within a test.
/// </summary>
public sealed class RunnerEquivalenceFixture : IAsyncLifetime
{
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>(ProtocolTestSandbox.Settings)
    {
        ["Iris:Limits:IdleTimeoutSeconds"] = "3",
        ["Iris:Limits:Interactive:WallSeconds"] = "6",
        ["Iris:Limits:Interactive:CpuSeconds"] = "1",
        ["Iris:Limits:Interactive:MemoryBytes"] = (64L * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Iris:Limits:Interactive:OutputBytes"] = "65536",
    };

    private ServiceProvider? _services;
    private HttpClient? _http;

    public RunnerProcess Runner { get; private set; } = default!;

    public ISessionHost Local { get; private set; } = default!;

    public RemoteRunnerSessionHost Remote { get; private set; } = default!;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(Settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Local = _services.GetRequiredService<ISessionHost>();

        Runner = await RunnerProcess.StartAsync(Settings);
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Remote = new RemoteRunnerSessionHost(Runner.BaseAddress, _http, _services.GetRequiredService<LanguageCatalog>(), _services.GetRequiredService<ILoggerFactory>());
    }

    public async Task DisposeAsync()
    {
        if (Runner is not null)
        {
            await Runner.DisposeAsync();
        }

        _http?.Dispose();
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }
    }
}

/// <summary>
/// A run gives the same events through <see cref="LocalSessionHost"/> and through
/// <see cref="RunnerProtocolClient"/> talking to a real runner process: the protocol extensions lose nothing.
/// Timings and usage numbers are left out (they differ run to run); so are chunk boundaries of output.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed partial class RunnerProtocolClientEquivalenceTests(RunnerEquivalenceFixture fixture) : IClassFixture<RunnerEquivalenceFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly Dictionary<string, Scenario> Scenarios = new Scenario[]
    {
        new("interactive input is echoed and read", "python", "name = input('Name? ')\nprint(f'Hello, {name}!')\n", Verdict.Ok, async run =>
        {
            await run.WaitForStdoutAsync("Name? ");
            foreach (var key in new[] { "A", "d", "a", "\r" })
            {
                await run.Session.WriteInputAsync(key, CancellationToken.None);
            }
        }),
        new("EOF ends a read to the end", "python", "import sys\ndata = sys.stdin.read()\nprint(len(data), repr(data))\n", Verdict.Ok, async run =>
        {
            // Input typed before the program starts is echoed at once: when that is depends on timing, not on the host.
            await run.WaitForAsync(e => e is ProgramStarted);
            await run.Session.WriteInputAsync("abc\r\ndef", CancellationToken.None);
            run.Session.CloseInput();
        }),
        // Short naps (a SIGINT just before one long sleep waits it out), and the interrupt raised again from one line, so
        // the traceback is the same wherever in the loop it came.
        new("Ctrl-C interrupts with SIGINT", "python",
            "import time\nprint('ready', flush=True)\ntry:\n    while True:\n        time.sleep(0.05)\nexcept KeyboardInterrupt:\n    raise KeyboardInterrupt from None\n",
            Verdict.RuntimeError, async run =>
        {
            await run.WaitForStdoutAsync("ready");
            run.Session.Signal(RunnerSignals.Interrupt);
        }),
        new("Stop ends the run with its verdict and message", "python", "import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.1)\n", Verdict.Killed, async run =>
        {
            await run.WaitForStdoutAsync("looping");
            run.Session.Stop(Verdict.Killed, "stopped by the test");
        }),
        new("a C compile error ends at the compile stage", "c", "int main(void) { return missing_symbol; }\n", Verdict.CompileError),
        new("a C program with warnings compiles, reads and exits with its code", "c",
            "#include <stdio.h>\nint main(void) { int unused; int n; printf(\"n? \"); fflush(stdout); if (scanf(\"%d\", &n) != 1) return 9; printf(\"%d\\n\", n * 2); return n; }\n",
            Verdict.RuntimeError,
            async run =>
            {
                await run.WaitForStdoutAsync("n? ");
                await run.Session.WriteInputAsync("21\n", CancellationToken.None);
            }),
        new("a runtime error reports stderr and exit code", "python", "import sys\nsys.stdout.write('before\\n')\n1/0\n", Verdict.RuntimeError),
        new("the CPU limit ends a busy loop", "python",
            "import time\nt = time.time()\nwhile True:\n    if time.time() - t > 0.2:\n        print('.', end='', flush=True)\n        t = time.time()\n",
            Verdict.TimeLimit,
            CollapseTicks: true),
        new("the wall limit ends a program that keeps printing", "python",
            "import time\nwhile True:\n    print('.', end='', flush=True)\n    time.sleep(0.5)\n",
            Verdict.TimeLimit,
            CollapseTicks: true),
        new("the memory limit ends a memory hog", "python", "a = []\nwhile True:\n    a.append('x' * 10_000_000)\n", Verdict.MemoryLimit),
        // It sleeps after the flood: a program that could also end on its own would race the kill, and
        // the two sides could then report "exit 0" and "signal 9" for the same scenario.
        new("the output limit ends a flood after exactly the limit", "python", "import sys, time\nsys.stdout.write('x' * 200_000)\nsys.stdout.flush()\ntime.sleep(60)\n", Verdict.OutputLimit),
        new("the idle timeout ends a program waiting for input", "python", "input()\n", Verdict.Killed),
    }.ToDictionary(s => s.Name);

    public static TheoryData<string> ScenarioNames => [.. Scenarios.Keys];

    [Theory]
    [MemberData(nameof(ScenarioNames))]
    public async Task A_scenario_gives_the_same_events_locally_and_through_a_runner_process(string name)
    {
        var scenario = Scenarios[name];

        var local = await RunAsync(fixture.Local, scenario);
        var remote = await RunAsync(fixture.Remote, scenario);

        // The local run is the reference, and must itself show what the scenario is about.
        Assert.StartsWith($"exit {scenario.Expected.ToWireName()} ", local[^1], StringComparison.Ordinal);
        Assert.Equal(local, remote);
    }

    [Fact]
    public async Task A_request_both_hosts_refuse_throws_the_same_error()
    {
        var request = RunRequestFactory.Interactive("cobol", [new SourceFile(string.Empty, "DISPLAY 'HI'.")]);

        var local = await Assert.ThrowsAsync<RunValidationException>(() => fixture.Local.StartAsync(request, Owner, CancellationToken.None).WaitAsync(Timeout));
        var remote = await Assert.ThrowsAsync<RunValidationException>(() => fixture.Remote.StartAsync(request, Owner, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(RunRequestError.UnknownLanguage, remote.Error);
        Assert.Equal(local.Error, remote.Error);
        Assert.Equal(local.Message, remote.Message);
    }

    [Fact]
    public async Task A_remote_session_of_several_files_names_its_language_and_files_as_a_local_one()
    {
        var request = RunRequestFactory.Interactive("py", [new SourceFile(string.Empty, "import helper\nhelper.hi()\n"), new SourceFile("helper.py", "def hi():\n    print('hi from helper')\n")]);
        await using var local = await fixture.Local.StartAsync(request, Owner, CancellationToken.None).WaitAsync(Timeout);
        await using var remote = await fixture.Remote.StartAsync(request, Owner, CancellationToken.None).WaitAsync(Timeout);
        var events = await ReadAllAsync(remote);

        Assert.Equal("python", remote.Language.Id);
        Assert.Equal(local.Language.Id, remote.Language.Id);
        Assert.Equal(local.Request.Files, remote.Request.Files);
        Assert.Equal("hi from helper\n", string.Concat(events.OfType<OutputChunk>().Select(c => c.Text)));
        Assert.Equal(Verdict.Ok, (await remote.Completion.WaitAsync(Timeout)).Verdict);
    }

    [Fact]
    public async Task A_remote_session_disposed_twice_and_concurrently_is_stopped_once_without_an_error()
    {
        var session = await fixture.Remote.StartAsync(RunRequestFactory.Interactive("python", [new SourceFile(string.Empty, "import time\nprint('up', flush=True)\ntime.sleep(60)\n")]), Owner, CancellationToken.None).WaitAsync(Timeout);
        await ReadUntilAsync(session, e => e is OutputChunk);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => session.DisposeAsync().AsTask())).WaitAsync(Timeout);
        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.Killed, outcome.Verdict);
        Assert.Equal("the client went away", outcome.Message);
        Assert.False(await session.WriteInputAsync("late\n", CancellationToken.None).AsTask().WaitAsync(Timeout));
        session.CloseInput();
        session.Signal(RunnerSignals.Interrupt);
        session.Stop();
    }

    [Fact]
    public async Task The_remote_host_reports_the_languages_the_runner_reports()
    {
        var local = await fixture.Local.GetLanguagesAsync(CancellationToken.None).WaitAsync(Timeout);
        var remote = await fixture.Remote.GetLanguagesAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Equal(local.Select(l => (l.Language.Id, l.IsAvailable, l.Version, l.Reason)), remote.Select(l => (l.Language.Id, l.IsAvailable, l.Version, l.Reason)));
        Assert.Contains(remote, l => l.Language.Id == "python" && l.IsAvailable);
        Assert.Equal(RemoteRunnerSessionHost.HostName, fixture.Remote.Name);
    }

    [Fact]
    public async Task The_runners_languages_endpoint_sends_the_web_apps_json_shape()
    {
        using var http = new HttpClient { Timeout = Timeout };

        using var document = JsonDocument.Parse(await http.GetStringAsync(new Uri(fixture.Runner.BaseAddress, "languages")).WaitAsync(Timeout));

        var python = document.RootElement.GetProperty("languages").EnumerateArray().Single(l => l.GetProperty("id").GetString() == "python");
        Assert.True(python.GetProperty("available").GetBoolean());
        Assert.Equal("main.py", python.GetProperty("fileName").GetString());
        Assert.Contains("py", python.GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
    }

    private static SessionOwner Owner => SessionOwner.System(SessionSurface.Hub);

    private static async Task<IReadOnlyList<string>> RunAsync(ISessionHost host, Scenario scenario)
    {
        await using var session = await host.StartAsync(
            RunRequestFactory.Interactive(scenario.Language, [new SourceFile(string.Empty, scenario.Source)]),
            Owner,
            CancellationToken.None).WaitAsync(Timeout);
        var run = new ScenarioRun(session);
        var reading = run.ReadAllAsync();
        if (scenario.Drive is { } drive)
        {
            await drive(run).WaitAsync(Timeout);
        }

        var events = await reading.WaitAsync(Timeout);
        await session.Completion.WaitAsync(Timeout);
        return Normalize(events, scenario.CollapseTicks);
    }

    /// <summary>
    /// Each event as text, without timings and usage. Output between two other events is joined per stream,
    /// stdout first: chunk boundaries depend on timing, and so does the order of chunks of the two streams
    /// (two pipes, read side by side; a traceback on stderr may beat the stdout line written before it).
    /// </summary>
    private static List<string> Normalize(IReadOnlyList<RunEvent> events, bool collapseTicks)
    {
        var lines = new List<string>();
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        void Flush()
        {
            foreach (var (name, text) in new[] { ("stdout", stdout), ("stderr", stderr) })
            {
                if (text.Length > 0)
                {
                    var output = collapseTicks ? Ticks().Replace(text.ToString(), ".") : text.ToString();
                    lines.Add($"{name} {JsonSerializer.Serialize(output)}");
                    text.Clear();
                }
            }
        }

        foreach (var runEvent in events)
        {
            if (runEvent is OutputChunk chunk)
            {
                (chunk.Stream == OutputStream.Stdout ? stdout : stderr).Append(chunk.Text);
                continue;
            }

            Flush();
            lines.Add(runEvent switch
            {
                CompileStarted => "compile_started",
                CompileFinished f => $"compile_finished {f.Succeeded} {f.Result.Verdict} exit={f.Result.ExitCode} signal={f.Result.Signal} message={f.Result.Message} output={JsonSerializer.Serialize(f.Output)}",
                ProgramStarted => "started",
                InputEchoed e => $"echo {JsonSerializer.Serialize(e.Text)}",
                RunNotice n => $"notice {n.Message}",
                RunExited { Outcome: var o } => $"exit {o.Verdict.ToWireName()} stage={o.Stage} exit={o.ExitCode} signal={o.Signal} message={o.Message}",
                _ => runEvent.GetType().Name,
            });
        }

        Flush();
        return lines;
    }

    private static async Task<List<RunEvent>> ReadAllAsync(IRunSession session)
    {
        var events = new List<RunEvent>();
        await foreach (var runEvent in session.Events.ReadAllAsync(CancellationToken.None))
        {
            events.Add(runEvent);
        }

        return events;
    }

    private static async Task ReadUntilAsync(IRunSession session, Func<RunEvent, bool> found)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!found(await session.Events.ReadAsync(timeout.Token)))
        {
        }
    }

    [GeneratedRegex(@"\.+")]
    private static partial Regex Ticks();

    private sealed record Scenario(string Name, string Language, string Source, Verdict Expected, Func<ScenarioRun, Task>? Drive = null, bool CollapseTicks = false);

    /// <summary>A session being read to the end in the background while a scenario drives it.</summary>
    private sealed class ScenarioRun(IRunSession session)
    {
        private readonly List<RunEvent> _events = [];

        public IRunSession Session => session;

        public async Task<IReadOnlyList<RunEvent>> ReadAllAsync()
        {
            await foreach (var runEvent in session.Events.ReadAllAsync())
            {
                lock (_events)
                {
                    _events.Add(runEvent);
                }
            }

            lock (_events)
            {
                return [.. _events];
            }
        }

        public Task WaitForStdoutAsync(string text) =>
            WaitUntilAsync(events => string.Concat(events.OfType<OutputChunk>().Where(c => c.Stream == OutputStream.Stdout).Select(c => c.Text)).Contains(text, StringComparison.Ordinal));

        public Task WaitForAsync(Func<RunEvent, bool> match) => WaitUntilAsync(events => events.Any(match));

        private async Task WaitUntilAsync(Func<List<RunEvent>, bool> condition)
        {
            using var timeout = new CancellationTokenSource(Timeout);
            while (true)
            {
                lock (_events)
                {
                    if (condition(_events))
                    {
                        return;
                    }
                }

                await Task.Delay(20, timeout.Token);
            }
        }
    }
}
