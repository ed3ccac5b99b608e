using System.Collections.Concurrent;
using IrisIde.Execution.Admission;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Runners;

/// <summary>
/// Runners (containers, pods) started ahead, each waiting for one session: a session takes the oldest, the pool
/// starts another in the background, and a runner that served a session is removed, never given to a
/// second one. A start that finds the pool empty starts a runner for itself and raises the pool's size by
/// one (up to <see cref="RunnerPoolLimits.MaxPoolSize"/>); each maintenance pass without such a miss
/// lowers it by one again (down to <see cref="RunnerPoolLimits.PoolSize"/>). Waiting, starting and
/// in-use runners together never exceed <see cref="RunnerPoolLimits.MaxRunners"/>: past that a session
/// is refused before any runner is made.
/// </summary>
internal class RunnerPool<TRunner> : IAsyncDisposable
    where TRunner : RemoteRunner
{
    /// <summary>After a failed start the pool waits this long before it tries again (an image that is missing stays missing).</summary>
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(10);

    private readonly IRunnerFactory<TRunner> _factory;
    private readonly RunnerPoolLimits _options;
    private readonly string _backend;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly LinkedList<TRunner> _ready = new();
    private readonly Dictionary<string, TRunner> _inUse = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _fills = new();
    private readonly ConcurrentDictionary<Task, byte> _releases = new();
    private readonly ConcurrentDictionary<string, Lazy<Task>> _removals = new(StringComparer.Ordinal);
    private int _starting;
    private int _target;
    private bool _missedSinceMaintenance;
    private DateTimeOffset _failedAt = DateTimeOffset.MinValue;
    private bool _disposed;
    private readonly Lazy<Task> _disposal;

    /// <param name="backend">The backend's name in logs (<c>Docker</c>, <c>Kubernetes</c>).</param>
    public RunnerPool(string backend, IRunnerFactory<TRunner> factory, RunnerPoolLimits limits, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(limits);
        _backend = backend;
        _factory = factory;
        _options = limits;
        _time = time;
        _logger = logger;
        _target = _options.PoolSize;
        _disposal = new Lazy<Task>(StopAsync);
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

    /// <summary>Whether the runner with this key is one of ours, waiting or in use (the reaper leaves those alone).</summary>
    public bool Holds(string key)
    {
        lock (_gate)
        {
            return _inUse.ContainsKey(key) || _ready.Any(r => r.Key == key);
        }
    }

    /// <summary>
    /// A runner for one session: a waiting one, else one started now. The caller gives it back with
    /// <see cref="ReleaseAsync"/>, which removes it.
    /// </summary>
    /// <exception cref="SessionRefusedException">As many runners as allowed exist already.</exception>
    /// <exception cref="RunnerBackendException">A runner could not be started.</exception>
    public async Task<TRunner> TakeAsync(string? owner, CancellationToken cancellationToken)
    {
        TRunner? taken = null;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_ready.First is { } oldest)
            {
                _ready.RemoveFirst();
                taken = oldest.Value;
                _inUse.Add(taken.Key, taken);
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

        TRunner runner;
        try
        {
            runner = await _factory.StartAsync(owner, _time.GetUtcNow() + _options.SessionLifetime + ExpiryGrace, cancellationToken);
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
            _inUse.Add(runner.Key, runner);
        }

        return runner;
    }

    /// <summary>Removes a runner that served its session (or failed to), and starts another if the pool is short.</summary>
    public Task ReleaseAsync(TRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        var release = ReleaseCoreAsync(runner);
        // Tracked until done: a web app stopping right after a session ended waits for its runner's removal.
        _releases.TryAdd(release, 0);
        _ = release.ContinueWith(static (done, releases) => ((ConcurrentDictionary<Task, byte>)releases!).TryRemove(done, out _), _releases, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return release;
    }

    private async Task ReleaseCoreAsync(TRunner runner)
    {
        await RemoveOnceAsync(runner);
        lock (_gate)
        {
            _inUse.Remove(runner.Key);
        }

        Replenish();
    }

    /// <summary>
    /// Lends a waiting runner for a request that is not a session (asking for its languages) and takes it back
    /// as it was; null when none is waiting.
    /// </summary>
    public async Task<T?> WithWaitingRunnerAsync<T>(Func<TRunner, Task<T>> use)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(use);
        TRunner runner;
        lock (_gate)
        {
            if (_disposed || _ready.First is not { } first)
            {
                return null;
            }

            runner = first.Value;
            _ready.RemoveFirst();
            _inUse.Add(runner.Key, runner);
        }

        try
        {
            return await use(runner);
        }
        finally
        {
            lock (_gate)
            {
                _inUse.Remove(runner.Key);
                if (_disposed)
                {
                    _ = RemoveOnceAsync(runner);
                }
                else
                {
                    _ready.AddFirst(runner);
                }
            }
        }
    }

    /// <summary>
    /// The periodic pass: replaces waiting runners older than <see cref="RunnerPoolLimits.MaxIdle"/>,
    /// lets the size fall back by one when no start missed since the last pass, and refills.
    /// </summary>
    public async Task MaintainAsync()
    {
        var stale = new List<TRunner>();
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var oldest = _time.GetUtcNow() - _options.MaxIdle;
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
            await RemoveOnceAsync(runner);
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

    /// <summary>
    /// Stops the pool and removes every runner it made. A second call waits for the same stop: the host's own disposal
    /// and its owner's (a test's web application factory disposes the host while the app's entry point does too) can
    /// overlap, and neither may return while runners are still being removed.
    /// </summary>
    public ValueTask DisposeAsync() => new(_disposal.Value);

    private async Task StopAsync()
    {
        List<TRunner> waiting;
        List<TRunner> inUse;
        lock (_gate)
        {
            _disposed = true;
            waiting = [.. _ready];
            _ready.Clear();
            inUse = [.. _inUse.Values];
        }

        await _stopping.CancelAsync();
        // Starts in flight end at the cancellation and remove what they made, removals of ended sessions' runners
        // finish, and the runners of sessions still open go with the app: waiting for all of it means nothing is left
        // behind when the process exits right after.
        await Task.WhenAll(waiting.Concat(inUse).Select(RemoveOnceAsync));
        // A fill counted as starting may not be registered yet, and a session may end (and release) only now: wait
        // until nothing starts or is being removed any more.
        while (true)
        {
            Task[] pending = [.. _fills.Keys, .. _releases.Keys, .. _removals.Values.Select(r => r.Value)];
            bool starting;
            lock (_gate)
            {
                starting = _starting > 0;
            }

            if (pending.All(t => t.IsCompleted) && !starting)
            {
                break;
            }

            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(TimeSpan.FromMilliseconds(20)));
        }

        _stopping.Dispose();
    }

    /// <summary>
    /// Removes the runner, once: a session ending while the app stops, and the app's stop itself, both ask; two removals
    /// of one container at once would leave the second reporting "in progress" while the first is not done.
    /// </summary>
    private Task RemoveOnceAsync(TRunner runner)
    {
        var entry = _removals.GetOrAdd(runner.Key, _ => new Lazy<Task>(() => _factory.RemoveAsync(runner)));
        var removal = entry.Value;
        // Forgotten once done (a later ask finds nothing to remove, which removal takes in its stride).
        _ = removal.ContinueWith(_ => _removals.TryRemove(new KeyValuePair<string, Lazy<Task>>(runner.Key, entry)), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return removal;
    }

    /// <summary>Beyond a session's longest life, the margin before the reaper may take a runner of ours whose end we missed.</summary>
    private static TimeSpan ExpiryGrace => TimeSpan.FromMinutes(5);

    private async Task FillOneAsync()
    {
        TRunner runner;
        try
        {
            var expires = _time.GetUtcNow() + _options.MaxIdle + _options.SessionLifetime + ExpiryGrace;
            runner = await _factory.StartAsync(null, expires, _stopping.Token);
        }
        catch (Exception e) when (e is RunnerBackendException or OperationCanceledException or ObjectDisposedException)
        {
            lock (_gate)
            {
                _starting--;
                if (e is RunnerBackendException)
                {
                    _failedAt = _time.GetUtcNow();
                }
            }

            if (e is RunnerBackendException)
            {
                RunnerSessionLog.PoolStartFailed(_logger, _backend, e.Message);
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
            await RemoveOnceAsync(runner);
        }
    }
}
