using System.Threading.Channels;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;

namespace IrisIde.Execution.Admission;

/// <summary>
/// Puts <see cref="RunAdmission"/> in front of whichever <see cref="ISessionHost"/> is configured: a session
/// starts only with a slot, and the slot is given back when the session ends or is disposed.
/// </summary>
public sealed class AdmittingSessionHost(ISessionHost inner, RunAdmission admission) : ISessionHost
{
    public string Name => inner.Name;

    public ISessionHost Inner => inner;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        var lease = admission.AdmitSession(owner);
        try
        {
            var session = await inner.StartAsync(request, owner, cancellationToken);
            return new AdmittedSession(session, lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => inner.GetLanguagesAsync(cancellationToken);

    /// <summary>The session as started, plus its slot: given back as soon as the run is over, not only on dispose.</summary>
    private sealed class AdmittedSession : IRunSession
    {
        private readonly IRunSession _session;
        private readonly AdmissionLease _lease;

        public AdmittedSession(IRunSession session, AdmissionLease lease)
        {
            _session = session;
            _lease = lease;
            _ = session.Completion.ContinueWith(static (_, state) => ((AdmissionLease)state!).Dispose(), lease, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public Guid Id => _session.Id;

        public LanguageDefinition Language => _session.Language;

        public RunRequest Request => _session.Request;

        public BatchLimits? Limits => _session.Limits;

        public ChannelReader<RunEvent> Events => _session.Events;

        public Task<RunOutcome> Completion => _session.Completion;

        public ValueTask<bool> WriteInputAsync(string text, CancellationToken cancellationToken) => _session.WriteInputAsync(text, cancellationToken);

        public void CloseInput() => _session.CloseInput();

        public void Signal(int signal) => _session.Signal(signal);

        public void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user") => _session.Stop(verdict, message);

        public SandboxUsage? ReadUsage() => _session.ReadUsage();

        public TimeSpan? IdleFor => _session.IdleFor;

        public async ValueTask DisposeAsync()
        {
            try
            {
                await _session.DisposeAsync();
            }
            finally
            {
                _lease.Dispose();
            }
        }
    }
}
