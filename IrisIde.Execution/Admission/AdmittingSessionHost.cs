using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
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
    private sealed class AdmittedSession : DelegatingRunSession
    {
        private readonly AdmissionLease _lease;

        public AdmittedSession(IRunSession session, AdmissionLease lease)
            : base(session)
        {
            _lease = lease;
            _ = session.Completion.ContinueWith(static (_, state) => ((AdmissionLease)state!).Dispose(), lease, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public override async ValueTask DisposeAsync()
        {
            try
            {
                await base.DisposeAsync();
            }
            finally
            {
                _lease.Dispose();
            }
        }
    }
}
