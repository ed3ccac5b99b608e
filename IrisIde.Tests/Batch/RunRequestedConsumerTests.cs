using System.Collections.Concurrent;
using IrisIde.Execution;
using IrisIde.Execution.Batch;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Batch;

/// <summary>
/// The job consumer on MassTransit's in-memory test harness, over the real pipeline and bubblewrap
/// sandbox, with every sandbox launch recorded so a test can count compiles and runs.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class RunRequestedConsumerTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private const string Doubler = "#include <stdio.h>\nint main(void){int n; if(scanf(\"%d\",&n)!=1) return 3; printf(\"%d\\n\", n*2); return 0;}\n";

    private readonly RecordingSandbox _sandbox = new();
    private ServiceProvider _services = null!;
    private ITestHarness _harness = null!;

    public async Task InitializeAsync()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:CgroupParent"] = "iris-consumer-tests",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<ISandbox>(provider => _sandbox.Wrap(provider.GetRequiredService<BubblewrapSandbox>()));
        services.AddIrisExecution(configuration).AddBubblewrapSandbox();
        services.AddBatchOptions(configuration);
        services.AddMassTransitTestHarness(bus =>
        {
            bus.SetTestTimeouts(testTimeout: Timeout, testInactivityTimeout: Timeout);
            bus.AddRunConsumers();
        });
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        _harness = _services.GetRequiredService<ITestHarness>();
        await _harness.Start().WaitAsync(Timeout);
    }

    public async Task DisposeAsync()
    {
        await _harness.Stop().WaitAsync(Timeout);
        await _services.DisposeAsync();
    }

    private async Task<RunCompleted> RunJobAsync(string language, string source, params BatchTestCase[] cases)
    {
        var jobId = Guid.CreateVersion7();
        await _harness.Bus.Publish(new RunRequested(jobId, language, [new BatchFile(string.Empty, source)], null, null, DateTime.UtcNow, cases, OutputComparison.Exact));
        Assert.True(await _harness.Published.Any<RunCompleted>(m => m.Context.Message.JobId == jobId).WaitAsync(Timeout), "no RunCompleted was published");
        // First, not Single: Single would read on until the harness sees no activity for the whole timeout.
        return _harness.Published.Select<RunCompleted>(m => m.Context.Message.JobId == jobId).First().Context.Message;
    }

    [Fact]
    public async Task Test_cases_compile_once_and_the_first_failing_case_decides_the_verdict()
    {
        var completed = await RunJobAsync("c", Doubler,
            new BatchTestCase("two", "2\n", "4\n"),
            new BatchTestCase("three", "3\n", "7\n"),
            new BatchTestCase("ten", "10\n", "20\n"));

        Assert.Equal(1, _sandbox.Launches("gcc"));
        Assert.Equal(3, _sandbox.Launches("./main"));
        Assert.Equal(RunCompletedStatus.Completed, completed.Status);
        Assert.Equal("wrong_answer", completed.Verdict);
        Assert.Equal("6\n", completed.Stdout);
        Assert.NotNull(completed.CompileOutput);
        var cases = completed.TestCases!;
        Assert.Equal(["accepted", "wrong_answer", "accepted"], cases.Select(c => c.Verdict));
        Assert.Equal(["4\n", "6\n", "20\n"], cases.Select(c => c.Stdout));
        Assert.Equal([0, 1, 2], cases.Select(c => c.Index));
    }

    [Fact]
    public async Task Test_cases_that_all_pass_are_accepted_with_one_compile()
    {
        var completed = await RunJobAsync("c", Doubler,
            new BatchTestCase("one", "1\n", "2\n"),
            new BatchTestCase("five", "5\n", "10\n"));

        Assert.Equal(1, _sandbox.Launches("gcc"));
        Assert.Equal(2, _sandbox.Launches("./main"));
        Assert.Equal("accepted", completed.Verdict);
        Assert.Equal("10\n", completed.Stdout);
        Assert.All(completed.TestCases!, c => Assert.Equal("accepted", c.Verdict));
    }

    [Fact]
    public async Task A_compile_error_with_test_cases_ends_the_job_without_running_any_case()
    {
        var completed = await RunJobAsync("c", "int main(void) { return missing_name; }\n",
            new BatchTestCase("one", "1\n", "2\n"),
            new BatchTestCase("two", "2\n", "4\n"));

        Assert.Equal(1, _sandbox.Launches("gcc"));
        Assert.Equal(0, _sandbox.Launches("./main"));
        Assert.Equal(RunCompletedStatus.Completed, completed.Status);
        Assert.Equal("compile_error", completed.Verdict);
        Assert.Contains("missing_name", completed.CompileOutput, StringComparison.Ordinal);
        Assert.Null(completed.TestCases);
    }

    /// <summary>Passes every launch to the real sandbox and remembers the program each one started.</summary>
    private sealed class RecordingSandbox
    {
        private readonly ConcurrentQueue<string> _programs = new();

        public int Launches(string program) => _programs.Count(p => p == program);

        public ISandbox Wrap(ISandbox inner) => new Recording(inner, _programs);

        private sealed class Recording(ISandbox inner, ConcurrentQueue<string> programs) : ISandbox
        {
            public string Name => inner.Name;

            public Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
            {
                programs.Enqueue(spec.Command[0]);
                return inner.StartAsync(spec, cancellationToken);
            }
        }
    }
}
