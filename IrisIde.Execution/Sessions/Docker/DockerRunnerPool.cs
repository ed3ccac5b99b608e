using System.Collections.Concurrent;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// Runner containers started ahead, each waiting for one session: a session takes the oldest, the pool
/// starts another in the background, and a runner that served a session is removed, never given to a
/// second one. A start that finds the pool empty starts a runner for itself and raises the pool's size by
/// one (up to <see cref="DockerRunnerOptions.MaxPoolSize"/>); each maintenance pass without such a miss
/// lowers it by one again (down to <see cref="DockerRunnerOptions.PoolSize"/>). Waiting, starting and
/// in-use runners together never exceed <see cref="DockerRunnerOptions.MaxRunners"/>: past that a session
/// is refused before any container is made.
/// </summary>
internal sealed class DockerRunnerPool : IAsyncDisposable
{
    /// <summary>After a failed start the pool waits this long before it tries again (an image that is missing stays missing).</summary>
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(10);

    private readonly DockerRunnerFactory _factory;
    private readonly DockerRunnerOptions _options;
    private readonly TimeSpan _sessionLifetime;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly LinkedList<DockerRunner> _ready = new();
    private readonly Dictionary<string, DockerRunner> _inUse = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _fills = new();
    private readonly ConcurrentDictionary<Task, byte> _releases = new();
    private int _starting;
    private int _target;
    private bool _missedSinceMaintenance;
    private DateTimeOffset _failedAt = DateTimeOffset.MinValue;
    private bool _disposed;

    public DockerRunnerPool(DockerRunnerFactory factory, IOptions<DockerRunnerOptions> options, IOptions<RunnerProtocolOptions> protocol, TimeProvider time, ILogger<DockerRunnerPool> logger)
    {
        _factory = factory;
        _options = options.Value;
        _sessionLifetime = TimeSpan.FromSeconds(protocol.Value.MaxSessionSeconds);
        _time = time;
        _logger = logger;
        _target = _options.PoolSize;
    }

    /// <summary>Runners waiting now.</summary>
    public int Ready
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count;
            }
        }
    }

    /// <summary>Runners waiting, starting and in use.</summary>
    public int Live
    {
        get
        {
            lock (_gate)
            {
                return LiveLocked;
            }
        }
    }

    /// <summary>How many runners the pool keeps waiting now (grows with demand).</summary>
    public int Target
    {
        get
        {
            lock (_gate)
            {
                return _target;
            }
        }
    }

    private int LiveLocked => _ready.Count + _starting + _inUse.Count;

    /// <summary>Whether the runner with this container id is one of ours, waiting or in use (the reaper leaves those alone).</summary>
    public bool Holds(string containerId)
    {
        lock (_gate)
        {
            return _inUse.ContainsKey(containerId) || _ready.Any(r => r.ContainerId == containerId);
        }
    }

    /// <summary>
    /// A runner for one session: a waiting one, else one started now. The caller gives it back with
    /// <see cref="ReleaseAsync"/>, which removes it.
    /// </summary>
    /// <exception cref="SessionRefusedException">As many runners as allowed exist already.</exception>
    /// <exception cref="DockerUnavailableException">A runner could not be started.</exception>
    public async Task<DockerRunner> TakeAsync(string? owner, CancellationToken cancellationToken)
    {
        DockerRunner? taken = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ready.First is { } oldest)
            {
                _ready.RemoveFirst();
                taken = oldest.Value;
                _inUse.Add(taken.ContainerId, taken);
            }
            else if (LiveLocked >= _options.MaxRunners)
            {
                throw new SessionRefusedException(AdmissionRefusal.AtCapacity, "the server is at capacity, try again in a minute", TimeSpan.FromSeconds(60));
            }
            else
            {
                _starting++;
                _missedSinceMaintenance = true;
                _target = Math.Min(_target + 1, _options.MaxPoolSize);
            }
        }

        Replenish();
        if (taken is not null)
        {
            return taken;
        }

        DockerRunner runner;
        try
        {
            runner = await _factory.StartAsync(owner, _time.GetUtcNow() + _sessionLifetime + ExpiryGrace, cancellationToken);
        }
        catch
        {
            lock (_gate)
            {
                _starting--;
            }

            throw;
        }

        lock (_gate)
        {
            _starting--;
            _inUse.Add(runner.ContainerId, runner);
        }

        return runner;
    }

    /// <summary>Removes a runner that served its session (or failed to), and starts another if the pool is short.</summary>
    public Task ReleaseAsync(DockerRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var release = ReleaseCoreAsync(runner);
        // Tracked until done: a web app stopping right after a session ended waits for its runner's removal.
        _releases.TryAdd(release, 0);
        _ = release.ContinueWith(static (done, releases) => ((ConcurrentDictionary<Task, byte>)releases!).TryRemove(done, out _), _releases, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return release;
    }

    private async Task ReleaseCoreAsync(DockerRunner runner)
    {
        await _factory.RemoveAsync(runner);
        lock (_gate)
        {
            _inUse.Remove(runner.ContainerId);
        }

        Replenish();
    }

    /// <summary>
    /// Lends a waiting runner for a request that is not a session (asking for its languages) and takes it back
    /// as it was; null when none is waiting.
    /// </summary>
    public async Task<T?> WithWaitingRunnerAsync<T>(Func<DockerRunner, Task<T>> use)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(use);
        DockerRunner runner;
        lock (_gate)
        {
            if (_disposed || _ready.First is not { } first)
            {
                return null;
            }

            runner = first.Value;
            _ready.RemoveFirst();
            _inUse.Add(runner.ContainerId, runner);
        }

        try
        {
            return await use(runner);
        }
        finally
        {
            lock (_gate)
            {
                _inUse.Remove(runner.ContainerId);
                if (_disposed)
                {
                    _ = _factory.RemoveAsync(runner);
                }
                else
                {
                    _ready.AddFirst(runner);
                }
            }
        }
    }

    /// <summary>
    /// The periodic pass: replaces waiting runners older than <see cref="DockerRunnerOptions.PoolMaxIdleSeconds"/>,
    /// lets the size fall back by one when no start missed since the last pass, and refills.
    /// </summary>
    public async Task MaintainAsync()
    {
        var stale = new List<DockerRunner>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var oldest = _time.GetUtcNow() - TimeSpan.FromSeconds(_options.PoolMaxIdleSeconds);
            for (var node = _ready.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.StartedAt < oldest)
                {
                    stale.Add(node.Value);
                    _ready.Remove(node);
                }

                node = next;
            }

            if (!_missedSinceMaintenance)
            {
                _target = Math.Max(_options.PoolSize, _target - 1);
            }

            _missedSinceMaintenance = false;
            // Surplus beyond the target goes too, oldest first.
            while (_ready.Count > _target && _ready.First is { } surplus)
            {
                stale.Add(surplus.Value);
                _ready.RemoveFirst();
            }
        }

        foreach (var runner in stale)
        {
            await _factory.RemoveAsync(runner);
        }

        Replenish();
    }

    /// <summary>Starts runners in the background until waiting plus starting reaches the target, within the cap.</summary>
    public void Replenish()
    {
        int toStart;
        lock (_gate)
        {
            if (_disposed || _time.GetUtcNow() - _failedAt < RetryAfterFailure)
            {
                return;
            }

            toStart = Math.Min(_target - _ready.Count - _starting, _options.MaxRunners - LiveLocked);
            if (toStart <= 0)
            {
                return;
            }

            _starting += toStart;
        }

        for (var i = 0; i < toStart; i++)
        {
            var fill = FillOneAsync();
            _fills.TryAdd(fill, 0);
            _ = fill.ContinueWith(static (done, fills) => ((ConcurrentDictionary<Task, byte>)fills!).TryRemove(done, out _), _fills, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    public async ValueTask DisposeAsync()
    {
        List<DockerRunner> waiting;
        List<DockerRunner> inUse;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            waiting = [.. _ready];
            _ready.Clear();
            inUse = [.. _inUse.Values];
        }

        await _stopping.CancelAsync();
        // Starts in flight end at the cancellation and remove what they made, removals of ended sessions' runners
        // finish, and the runners of sessions still open go with the app: waiting for all of it means nothing is left
        // behind when the process exits right after.
        await Task.WhenAll(_fills.Keys);
        await Task.WhenAll(_releases.Keys);
        await Task.WhenAll(waiting.Concat(inUse).Select(_factory.RemoveAsync));
        _stopping.Dispose();
    }

    /// <summary>Beyond a session's longest life, the margin before the reaper may take a runner of ours whose end we missed.</summary>
    private static TimeSpan ExpiryGrace => TimeSpan.FromMinutes(5);

    private async Task FillOneAsync()
    {
        DockerRunner runner;
        try
        {
            var expires = _time.GetUtcNow() + TimeSpan.FromSeconds(_options.PoolMaxIdleSeconds) + _sessionLifetime + ExpiryGrace;
            runner = await _factory.StartAsync(null, expires, _stopping.Token);
        }
        catch (Exception e) when (e is DockerUnavailableException or OperationCanceledException or ObjectDisposedException)
        {
            lock (_gate)
            {
                _starting--;
                if (e is DockerUnavailableException)
                {
                    _failedAt = _time.GetUtcNow();
                }
            }

            if (e is DockerUnavailableException)
            {
                DockerSessionLog.PoolStartFailed(_logger, e.Message);
            }

            return;
        }

        bool keep;
        lock (_gate)
        {
            _starting--;
            keep = !_disposed;
            if (keep)
            {
                _ready.AddLast(runner);
            }
        }

        if (!keep)
        {
            await _factory.RemoveAsync(runner);
        }
    }
}
