using System.Diagnostics;
using System.Threading.Channels;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;

namespace IrisIde.Execution.Telemetry;

/// <summary>
/// Measures every interactive session, whatever the surface and backend: it wraps admission (so it sees refusals)
/// and is wrapped by the web app's course and history layers (so the owner it sees carries the course). A session
/// counts as active from its start until its outcome is known; the run is counted when it ends; the request's
/// clock starts when <see cref="StartAsync"/> is called, before admission and the backend's start-up.
/// </summary>
/// <remarks>
/// Program start and first output are seen as the surface reads the session's events (the reader is wrapped, no
/// extra pump or buffer): a surface reads as soon as an event is there, so the delay this adds is a channel hop.
/// </remarks>
public sealed class MeteringSessionHost(ISessionHost inner, IrisMetrics metrics) : ISessionHost
{
    public string Name => inner.Name;

    public ISessionHost Inner => inner;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        var requested = Stopwatch.GetTimestamp();
        IRunSession session;
        try
        {
            session = await inner.StartAsync(request, owner, cancellationToken);
        }
        catch (SessionRefusedException e)
        {
            metrics.AdmissionRefused(owner.Surface, e.Refusal);
            throw;
        }

        return new MeteredSession(session, owner, inner.Name, requested, metrics);
    }

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => inner.GetLanguagesAsync(cancellationToken);

    private sealed class MeteredSession : DelegatingRunSession
    {
        private readonly SessionOwner _owner;
        private readonly string _backend;
        private readonly long _requested;
        private readonly IrisMetrics _metrics;
        private readonly ObservingEventReader _events;
        private int _programStarted;
        private int _firstOutput;

        public MeteredSession(IRunSession session, SessionOwner owner, string backend, long requested, IrisMetrics metrics)
            : base(session)
        {
            _owner = owner;
            _backend = backend;
            _requested = requested;
            _metrics = metrics;
            _events = new ObservingEventReader(session.Events, Observe);
            metrics.SessionChanged(backend, owner.Course, +1);
            _ = EndedAsync();
        }

        public override ChannelReader<RunEvent> Events => _events;

        private void Observe(RunEvent e)
        {
            switch (e)
            {
                case ProgramStarted when Interlocked.Exchange(ref _programStarted, 1) == 0:
                    _metrics.ProgramStarted(_owner.Surface, Inner.Language.Id, Stopwatch.GetElapsedTime(_requested));
                    break;
                case OutputChunk when Interlocked.Exchange(ref _firstOutput, 1) == 0:
                    _metrics.FirstOutput(_owner.Surface, Inner.Language.Id, Stopwatch.GetElapsedTime(_requested));
                    break;
            }
        }

        private async Task EndedAsync()
        {
            Verdict verdict;
            try
            {
                verdict = (await Inner.Completion).Verdict;
            }
            catch (Exception)
            {
                // A session whose outcome faulted still ended; it is counted as the server's failure.
                verdict = Verdict.InternalError;
            }

            _metrics.SessionChanged(_backend, _owner.Course, -1);
            _metrics.RunEnded(_owner.Surface, Inner.Language.Id, verdict.ToWireName(), Stopwatch.GetElapsedTime(_requested));
        }
    }
}
