using System.Threading.Channels;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Execution.Sessions;

/// <summary>
/// A session that hands every call to the one it wraps; the hosts that decorate sessions (admission, metrics,
/// the run history) derive from it and override only what they add to.
/// </summary>
public abstract class DelegatingRunSession(IRunSession inner) : IRunSession
{
    /// <summary>The wrapped session.</summary>
    protected IRunSession Inner { get; } = inner ?? throw new ArgumentNullException(nameof(inner));

    public Guid Id => Inner.Id;

    public LanguageDefinition Language => Inner.Language;

    public RunRequest Request => Inner.Request;

    public BatchLimits? Limits => Inner.Limits;

    public virtual ChannelReader<RunEvent> Events => Inner.Events;

    public Task<RunOutcome> Completion => Inner.Completion;

    public TimeSpan? IdleFor => Inner.IdleFor;

    public virtual ValueTask<bool> WriteInputAsync(string text, CancellationToken cancellationToken) => Inner.WriteInputAsync(text, cancellationToken);

    public virtual void CloseInput() => Inner.CloseInput();

    public virtual void Signal(int signal) => Inner.Signal(signal);

    public virtual void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user") => Inner.Stop(verdict, message);

    public SandboxUsage? ReadUsage() => Inner.ReadUsage();

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return Inner.DisposeAsync();
    }
}
