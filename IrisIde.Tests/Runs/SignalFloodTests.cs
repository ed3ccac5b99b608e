using IrisIde.Execution;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace IrisIde.Tests.Runs;

/// <summary>
/// A client that sends signals as fast as it can (a signal has no answer that would hold it back) gets
/// <see cref="SignalAllowance.PerSecond"/> of them through to the sandbox, at once and then per second; the
/// rest are dropped and the run goes on. The run's clock is a fake one, so the count is exact.
/// </summary>
public sealed class SignalFloodTests : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = PipelineFixture.Timeout;

    private readonly FakeTimeProvider _time = new();
    private readonly CountingSandbox _sandbox = new();
    private readonly ServiceProvider _services;

    public SignalFloodTests()
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<TimeProvider>(_time);
        services.AddSingleton<ISandbox>(provider => _sandbox.Wrap(provider.GetRequiredService<BubblewrapSandbox>()));
        services.AddIrisExecution(new ConfigurationBuilder().Build()).AddBubblewrapSandbox();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }

    [Fact]
    public async Task A_signal_flood_reaches_the_sandbox_at_the_rate_and_the_run_goes_on()
    {
        var pipeline = _services.GetRequiredService<RunPipeline>();
        await using var session = await pipeline.StartAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile(string.Empty, "import signal\nsignal.signal(signal.SIGINT, lambda *_: None)\nprint('ready', flush=True)\nprint('got', input())\n")],
            Mode = RunMode.Interactive,
        }, CancellationToken.None).WaitAsync(Timeout);
        var events = session.Events.ReadAllAsync().GetAsyncEnumerator();
        var stdout = string.Empty;
        while (!stdout.Contains("ready", StringComparison.Ordinal) && await events.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            stdout += events.Current is OutputChunk { Stream: OutputStream.Stdout } chunk ? chunk.Text : string.Empty;
        }

        Flood(session);
        Assert.Equal(SignalAllowance.PerSecond, _sandbox.Signals);

        _time.Advance(TimeSpan.FromSeconds(0.5));
        Flood(session);
        Assert.Equal(SignalAllowance.PerSecond * 3 / 2, _sandbox.Signals);

        _time.Advance(TimeSpan.FromMinutes(1)); // the allowance fills up to one second's worth, no more
        Flood(session);
        Assert.Equal(SignalAllowance.PerSecond * 5 / 2, _sandbox.Signals);

        Assert.True(await session.WriteInputAsync("still here\n", CancellationToken.None).AsTask().WaitAsync(Timeout));
        while (await events.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            stdout += events.Current is OutputChunk { Stream: OutputStream.Stdout } chunk ? chunk.Text : string.Empty;
        }

        Assert.Equal("ready\ngot still here\n", stdout);
        Assert.Equal(Verdict.Ok, (await session.Completion.WaitAsync(Timeout)).Verdict);
    }

    private static void Flood(RunSession session)
    {
        for (var i = 0; i < 1000; i++)
        {
            session.Signal(2);
        }
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();

    /// <summary>Passes every run to the real sandbox and counts the signals that reach a run's processes.</summary>
    private sealed class CountingSandbox
    {
        private int _signals;

        public int Signals => Volatile.Read(ref _signals);

        public ISandbox Wrap(ISandbox inner) => new Counting(inner, this);

        private sealed class Counting(ISandbox inner, CountingSandbox counts) : ISandbox
        {
            public string Name => inner.Name;

            public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken) =>
                new CountingProcess(await inner.StartAsync(spec, cancellationToken), counts);
        }

        private sealed class CountingProcess(ISandboxProcess inner, CountingSandbox counts) : ISandboxProcess
        {
            public Stream StandardInput => inner.StandardInput;

            public Stream StandardOutput => inner.StandardOutput;

            public Stream StandardError => inner.StandardError;

            public Task<SandboxResult> Completion => inner.Completion;

            public void Kill(Verdict verdict, string? message = null) => inner.Kill(verdict, message);

            public void Signal(int signal)
            {
                Interlocked.Increment(ref counts._signals);
                inner.Signal(signal);
            }

            public SandboxUsage? ReadUsage() => inner.ReadUsage();

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }
}
