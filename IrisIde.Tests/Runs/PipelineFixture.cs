using IrisIde.Execution;
using IrisIde.Execution.Runs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Runs;

/// <summary>
/// The real run pipeline over the real bubblewrap sandbox, built once for a test class. Limits are the
/// defaults except where a test class needs a small idle timeout to cross it quickly.
/// </summary>
public class PipelineFixture : IAsyncLifetime
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private readonly ServiceProvider _services;

    public PipelineFixture()
        : this(new Dictionary<string, string?>())
    {
    }

    protected PipelineFixture(Dictionary<string, string?> settings)
    {
        // A uid range of the pipeline fixtures' own: the after-checks look for every process of the range, and the
        // default range is also the web apps' and the worker processes' (whose ready sandboxes would be found).
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Iris:Sandbox:Uid"] = "62200", ["Iris:Sandbox:UidCount"] = "64" })
            .AddInMemoryCollection(settings)
            .Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddIrisExecution(configuration).AddBubblewrapSandbox();
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        Pipeline = _services.GetRequiredService<RunPipeline>();
    }

    public RunPipeline Pipeline { get; }

    /// <summary>This fixture's share of the workspace root (its own instance folder, shared by no other fixture).</summary>
    public Execution.Workspaces.WorkspaceArea Workspaces => _services.GetRequiredService<Execution.Workspaces.WorkspaceArea>();

    /// <summary>The host uids sandboxed programs run as (to look for leftovers): [SandboxUid, SandboxUid + SandboxUidCount).</summary>
    public int SandboxUid => _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Execution.Sandboxing.Bubblewrap.BubblewrapOptions>>().Value.Uid;

    public int SandboxUidCount => _services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Execution.Sandboxing.Bubblewrap.BubblewrapOptions>>().Value.UidCount;

    /// <summary>Processes of the sandbox uids still there after <paramref name="grace"/>, ready sandboxes ended first (see <see cref="Support.ReadySandboxes"/>).</summary>
    public Task<IReadOnlyList<string>> RemainingProcessesAfterAsync(TimeSpan grace, int count = 1) =>
        Support.ReadySandboxes.RemainingAfterAsync(_services, SandboxUid, grace, count);

    public async Task<RunResult> RunAsync(string language, string source, string? stdin = null, string? fileName = null)
    {
        var events = await Pipeline.RunToEndAsync(new RunRequest
        {
            Language = language,
            Files = [new SourceFile(fileName ?? string.Empty, source)],
            Stdin = stdin,
        }, CancellationToken.None).WaitAsync(Timeout);
        return new RunResult(events);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Ends the sandboxes kept ready for the next runs (xunit 2 disposes a fixture through IAsyncLifetime or IDisposable only).</summary>
    public async Task DisposeAsync() => await _services.DisposeAsync();
}

/// <summary>The events of a finished run, with the views tests ask for.</summary>
public sealed record RunResult(IReadOnlyList<RunEvent> Events)
{
    public RunOutcome Outcome => Assert.IsType<RunExited>(Events[^1]).Outcome;

    public string Stdout => string.Concat(Events.OfType<OutputChunk>().Where(c => c.Stream == OutputStream.Stdout).Select(c => c.Text));

    public string Stderr => string.Concat(Events.OfType<OutputChunk>().Where(c => c.Stream == OutputStream.Stderr).Select(c => c.Text));

    public CompileFinished? Compile => Events.OfType<CompileFinished>().SingleOrDefault();

    public IEnumerable<string> Notices => Events.OfType<RunNotice>().Select(n => n.Message);

    public override string ToString() =>
        $"{Outcome.Verdict} exit={Outcome.ExitCode} signal={Outcome.Signal} msg={Outcome.Message} compile={Compile?.Output} stdout={Stdout[..Math.Min(300, Stdout.Length)]} stderr={Stderr[..Math.Min(600, Stderr.Length)]}";
}

public sealed class ShortIdlePipelineFixture() : PipelineFixture(new Dictionary<string, string?>
{
    ["Iris:Limits:IdleTimeoutSeconds"] = "2",
});
