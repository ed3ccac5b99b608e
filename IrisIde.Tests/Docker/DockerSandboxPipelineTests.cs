using IrisIde.Execution;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Docker;
using IrisIde.Execution.Sessions;
using IrisIde.Tests.Protocol;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Docker;

/// <summary>
/// Whole runs with <c>Iris:Sandbox:Kind=Docker</c>, as a batch worker makes them: the pipeline's workspace, a
/// compile step and a run step each in a fresh container, the verdicts of the bubblewrap sandbox, nothing left.
/// </summary>
[Trait("Needs", "Docker")]
[Collection(nameof(DockerSandboxSuite))]
public sealed class DockerSandboxPipelineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Theory]
    [InlineData("runc")]
    [InlineData("runsc")]
    public async Task A_compiled_and_an_interpreted_job_run_with_their_input_and_leave_no_container(string runtime)
    {
        await using var services = Services(runtime);
        Assert.IsType<DockerSandbox>(services.GetRequiredService<ISandbox>());
        var pipeline = services.GetRequiredService<RunPipeline>();

        var c = await pipeline.RunToEndAsync(new RunRequest
        {
            Language = "c",
            Files = [new SourceFile("main.c", "#include <stdio.h>\nint main(void) { int n; if (scanf(\"%d\", &n) != 1) return 2; printf(\"%d\\n\", n * 2); return 0; }\n")],
            Stdin = "21\n",
        }, CancellationToken.None).WaitAsync(Timeout);
        Assert.True(Assert.Single(c.OfType<CompileFinished>()).Succeeded);
        Assert.Equal(Verdict.Ok, Assert.Single(c.OfType<RunExited>()).Outcome.Verdict);
        Assert.Equal("42\n", string.Concat(c.OfType<OutputChunk>().Where(o => o.Stream == OutputStream.Stdout).Select(o => o.Text)));

        var python = await pipeline.RunToEndAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile("main.py", "import sys\nprint('bad', file=sys.stderr)\nsys.exit(7)\n")],
        }, CancellationToken.None).WaitAsync(Timeout);
        var exit = Assert.Single(python.OfType<RunExited>()).Outcome;
        Assert.Equal(Verdict.RuntimeError, exit.Verdict);
        Assert.Equal(7, exit.ExitCode);

        var broken = await pipeline.RunToEndAsync(new RunRequest
        {
            Language = "c",
            Files = [new SourceFile("main.c", "int main(void) { return missing; }\n")],
        }, CancellationToken.None).WaitAsync(Timeout);
        Assert.False(Assert.Single(broken.OfType<CompileFinished>()).Succeeded);
        Assert.Contains("missing", Assert.Single(broken.OfType<CompileFinished>()).Output, StringComparison.Ordinal);

        Assert.Empty(await DockerSandboxFixture.StepContainersAsync());
    }

    private static ServiceProvider Services(string runtime)
    {
        var settings = new Dictionary<string, string?>(ProtocolTestSandbox.Settings)
        {
            ["Iris:Sandbox:Kind"] = "Docker",
            ["Iris:Docker:Endpoint"] = DockerTestEngine.Endpoint,
            ["Iris:Docker:Runtime"] = runtime,
            ["Iris:Sandbox:Docker:Image"] = DockerTestEngine.RunnerImage,
        };
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
    }
}
