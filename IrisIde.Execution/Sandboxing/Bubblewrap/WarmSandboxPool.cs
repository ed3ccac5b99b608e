using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Keeps sandboxes set up ahead of the runs that will take them, so a run's critical path is only
/// handing its command to a waiting init, not bwrap's namespace and mount set-up. A ready sandbox
/// fits runs of one <see cref="WarmShape"/> (its limits, environment and toolchain decide its
/// cgroup, rlimits and mounts); the command and the workspace come when a run takes it.
/// </summary>
/// <remarks>
/// Every run that ends (once it holds nothing any more) asks the pool for one more sandbox of its
/// shape, prepared in the background, unless as many of that shape are ready or being prepared as the
/// pool holds at all: one run at a time keeps one ready, runs in parallel keep as many as run together.
/// Not while the run's program runs: on a small machine preparing beside it slowed the program. At most <c>capacity</c> are
/// kept; the least recently used gives way. Preparing needs a free uid of the range (it skips when there is none), and a run that finds
/// the range full takes one back through <see cref="DiscardOneAsync"/>: a run comes before a spare.
/// </remarks>
internal sealed class WarmSandboxPool(int capacity, Func<SandboxSpec, Task<WarmSandbox?>> prepare, ILogger logger) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly List<WarmSandbox> _ready = []; // least recently used first
    private readonly Dictionary<WarmShape, int> _preparing = [];
    private readonly List<Task> _pending = [];
    private bool _disposed;

    public int Capacity => capacity;

    /// <summary>How many sandboxes are ready now.</summary>
    public int ReadyCount
    {
        get
        {
            lock (_gate)
            {
                return _ready.Count;
            }
        }
    }

    /// <summary>Takes a ready sandbox of <paramref name="shape"/>, or null when none is (or the one there died).</summary>
    public WarmSandbox? TryTake(WarmShape shape)
    {
        WarmSandbox? taken;
        lock (_gate)
        {
            var index = _ready.FindIndex(ready => ready.Shape == shape);
            if (index < 0)
            {
                return null;
            }

            taken = _ready[index];
            _ready.RemoveAt(index);
        }

        if (!taken.Process.Process.HasExited)
        {
            return taken;
        }

        Track(taken.DiscardAsync());
        return null;
    }

    /// <summary>Prepares a sandbox for the next run of <paramref name="spec"/>'s shape, in the background.</summary>
    public void Replenish(SandboxSpec spec)
    {
        if (capacity == 0)
        {
            return;
        }

        var shape = WarmShape.Of(spec);
        lock (_gate)
        {
            var preparing = _preparing.GetValueOrDefault(shape);
            if (_disposed || preparing + _ready.Count(ready => ready.Shape == shape) >= capacity)
            {
                return;
            }

            _preparing[shape] = preparing + 1;
        }

        Track(Task.Run(() => PrepareAsync(spec, shape)));
    }

    /// <summary>Ends the least recently used ready sandbox, freeing its uid; false when none was ready.</summary>
    public async Task<bool> DiscardOneAsync()
    {
        WarmSandbox? oldest;
        lock (_gate)
        {
            if (_ready.Count == 0)
            {
                return false;
            }

            oldest = _ready[0];
            _ready.RemoveAt(0);
        }

        await oldest.DiscardAsync();
        return true;
    }

    /// <summary>Ends every ready sandbox and those being prepared now; the pool keeps working afterwards.</summary>
    public async Task DiscardAllAsync()
    {
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _pending];
        }

        await Task.WhenAll(pending);
        while (await DiscardOneAsync())
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        WarmSandbox[] ready;
        Task[] pending;
        lock (_gate)
        {
            _disposed = true;
            ready = [.. _ready];
            _ready.Clear();
            pending = [.. _pending];
        }

        await Task.WhenAll(pending);
        await Task.WhenAll(ready.Select(sandbox => sandbox.DiscardAsync()));
    }

    private async Task PrepareAsync(SandboxSpec spec, WarmShape shape)
    {
        WarmSandbox? prepared = null;
        try
        {
            prepared = await prepare(spec);
        }
        catch (Exception exception)
        {
            BubblewrapSandboxLog.WarmSandboxFailed(logger, exception);
        }

        var discard = new List<WarmSandbox>();
        lock (_gate)
        {
            if (--_preparing[shape] == 0)
            {
                _preparing.Remove(shape);
            }

            if (prepared is not null)
            {
                if (_disposed)
                {
                    discard.Add(prepared);
                }
                else
                {
                    _ready.Add(prepared);
                    while (_ready.Count > capacity)
                    {
                        discard.Add(_ready[0]);
                        _ready.RemoveAt(0);
                    }
                }
            }
        }

        await Task.WhenAll(discard.Select(sandbox => sandbox.DiscardAsync()));
    }

    private void Track(Task task)
    {
        lock (_gate)
        {
            _pending.RemoveAll(pending => pending.IsCompleted);
            _pending.Add(task);
        }
    }
}

/// <summary>What a ready sandbox is fixed to before its run is known; runs with equal shapes can take it.</summary>
internal sealed record WarmShape(string Key)
{
    public static WarmShape Of(SandboxSpec spec)
    {
        var environment = (spec.Environment ?? new Dictionary<string, string>())
            .OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => pair.Key + "=" + pair.Value);
        var toolchain = spec.ToolchainPaths is null ? "*" : string.Join('\n', spec.ToolchainPaths);
        return new WarmShape(string.Join('\0', spec.Limits.ToString(), string.Join('\n', environment), toolchain));
    }
}

/// <summary>A sandbox set up and waiting for its command, with its slot for the workspace.</summary>
internal sealed class WarmSandbox(WarmShape shape, SandboxLaunch process, WorkspaceSlot slot, ILogger logger)
{
    public WarmShape Shape { get; } = shape;

    public SandboxLaunch Process { get; } = process;

    public WorkspaceSlot Slot { get; } = slot;

    /// <summary>Ends the waiting sandbox and releases all it holds (cgroup, uid, slot).</summary>
    public async Task DiscardAsync()
    {
        try
        {
            await using var process = Process.Supervise(System.Diagnostics.Stopwatch.StartNew(), Slot, logger);
            process.Kill(Verdict.Killed, "A ready sandbox nobody took.");
        }
        catch (Exception exception)
        {
            BubblewrapSandboxLog.WarmSandboxFailed(logger, exception);
        }
    }
}
