using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;

namespace IrisIde.Web.History;

/// <summary>
/// The interactive runs going on in this process, for live watch: a teaching assistant, an instructor or an admin
/// opens a student's running session and sees its terminal as it happens, read-only. Fed by the recording
/// (<see cref="RunTranscript"/>), so a watcher sees what the transcript records, in the same order, and the
/// recording's switch (<c>Iris:History:Enabled</c>) turns live watch off too. All in memory: a run lives in the
/// process that runs its session.
/// </summary>
public sealed class LiveRuns
{
    private readonly ConcurrentDictionary<Guid, LiveRun> _runs = new();

    /// <summary>Raised with the run and its new number of watchers, whenever one starts or stops watching.</summary>
    public event Action<LiveRun, int>? WatchersChanged;

    public LiveRun Open(LiveRunInfo info)
    {
        ArgumentNullException.ThrowIfNull(info);
        var run = new LiveRun(info, this);
        _runs[info.RunId] = run;
        return run;
    }

    public LiveRun? Find(Guid runId) => _runs.TryGetValue(runId, out var run) ? run : null;

    /// <summary>The runs going on now, oldest first.</summary>
    public IReadOnlyList<LiveRun> List() => [.. _runs.Values.OrderBy(r => r.Info.StartedAtUtc)];

    internal void Closed(LiveRun run) => _runs.TryRemove(new KeyValuePair<Guid, LiveRun>(run.Info.RunId, run));

    internal void OnWatchersChanged(LiveRun run, int watchers) => WatchersChanged?.Invoke(run, watchers);
}

/// <summary>What a watcher may know of a live run before watching it, and what decides who may.</summary>
/// <param name="Owner">The user id of the student whose run it is; null for an anonymous run.</param>
/// <param name="Course">The course the run belongs to (its id as text), if any: its staff may watch.</param>
/// <param name="Surface"><c>ide</c> or <c>ws</c>.</param>
public sealed record LiveRunInfo(Guid RunId, string? Owner, string? Course, string Surface, string Language, DateTime StartedAtUtc);

/// <summary>One chunk as a watcher gets it: milliseconds since the run started, the stream, the text.</summary>
public sealed record LiveChunk(long T, string Stream, string Data);

/// <summary>
/// One live run: a backlog of what it has shown so far (the newest <see cref="BacklogBytes"/>, so a watcher who
/// comes late sees the screen's recent past) and the watchers' feeds. Publishing never waits: a watcher whose feed
/// is full loses its oldest chunks, never the student's run its pace.
/// </summary>
public sealed class LiveRun
{
    /// <summary>UTF-8 bytes of recent output kept for watchers who open the run later.</summary>
    public const int BacklogBytes = 256 * 1024;

    /// <summary>Chunks a watcher may have unread before its oldest are dropped.</summary>
    public const int FeedCapacity = 4096;

    /// <summary>Watchers of one run at once: a run is not a broadcast.</summary>
    public const int MaxWatchers = 8;

    private readonly Lock _gate = new();
    private readonly LinkedList<LiveChunk> _backlog = new();
    private readonly List<Channel<LiveChunk>> _feeds = [];
    private readonly LiveRuns _registry;
    private long _backlogBytes;
    private bool _ended;
    private Action<string>? _stop;
    private IRunSession? _session;

    internal LiveRun(LiveRunInfo info, LiveRuns registry)
    {
        Info = info;
        _registry = registry;
    }

    public LiveRunInfo Info { get; }

    /// <summary>True once the backlog has let go of the run's earliest output.</summary>
    public bool BacklogTrimmed { get; private set; }

    public int Watchers
    {
        get
        {
            lock (_gate)
            {
                return _feeds.Count;
            }
        }
    }

    public bool Ended
    {
        get
        {
            lock (_gate)
            {
                return _ended;
            }
        }
    }

    public void Publish(string stream, string data, long ms)
    {
        var chunk = new LiveChunk(ms, stream, data);
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _backlog.AddLast(chunk);
            _backlogBytes += Encoding.UTF8.GetByteCount(data);
            while (_backlogBytes > BacklogBytes && _backlog.First is { } oldest && _backlog.Count > 1)
            {
                _backlogBytes -= Encoding.UTF8.GetByteCount(oldest.Value.Data);
                _backlog.RemoveFirst();
                BacklogTrimmed = true;
            }

            foreach (var feed in _feeds)
            {
                feed.Writer.TryWrite(chunk);
            }
        }
    }

    /// <summary>
    /// Starts watching: what the run has shown so far, and a feed of what follows, which completes when the run
    /// ends or the watch is disposed. Null when the run has ended or has <see cref="MaxWatchers"/> already.
    /// </summary>
    public LiveWatch? Watch()
    {
        LiveWatch watch;
        int watchers;
        lock (_gate)
        {
            if (_ended || _feeds.Count >= MaxWatchers)
            {
                return null;
            }

            var feed = Channel.CreateBounded<LiveChunk>(new BoundedChannelOptions(FeedCapacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.DropOldest,
            });
            _feeds.Add(feed);
            watchers = _feeds.Count;
            watch = new LiveWatch(this, [.. _backlog], BacklogTrimmed, feed);
        }

        _registry.OnWatchersChanged(this, watchers);
        return watch;
    }

    /// <summary>How to end the session (its recorded wrapper's Stop), set once the session exists.</summary>
    internal void StopsWith(Action<string> stop) => _stop = stop;

    /// <summary>The session whose usage and idle time <see cref="ReadUsage"/> and <see cref="IdleFor"/> report.</summary>
    internal void ReportsFrom(IRunSession session) => _session = session;

    /// <summary>What the program has used so far (this replica's sessions only); null when not known.</summary>
    public SandboxUsage? ReadUsage() => Ended ? null : _session?.ReadUsage();

    /// <summary>Time since the program's last input or output; null when not known.</summary>
    public TimeSpan? IdleFor => Ended ? null : _session?.IdleFor;

    /// <summary>Ends the session with <paramref name="reason"/> as its stop message; false when it is over already.</summary>
    public bool Stop(string reason)
    {
        if (Ended || _stop is not { } stop)
        {
            return false;
        }

        stop(reason);
        return true;
    }

    /// <summary>The run is over: every watcher's feed completes after what it has, and the run leaves the registry.</summary>
    public void End()
    {
        lock (_gate)
        {
            if (_ended)
            {
                return;
            }

            _ended = true;
            foreach (var feed in _feeds)
            {
                feed.Writer.TryComplete();
            }

            _backlog.Clear();
            _backlogBytes = 0;
        }

        _registry.Closed(this);
    }

    internal void Unwatch(Channel<LiveChunk> feed)
    {
        int watchers;
        bool ended;
        lock (_gate)
        {
            if (!_feeds.Remove(feed))
            {
                return;
            }

            feed.Writer.TryComplete();
            watchers = _feeds.Count;
            ended = _ended;
        }

        if (!ended)
        {
            _registry.OnWatchersChanged(this, watchers);
        }
    }
}

/// <summary>One watcher's view of a live run; disposing it stops watching (and tells the student one fewer watches).</summary>
public sealed class LiveWatch : IDisposable
{
    private readonly LiveRun _run;
    private readonly Channel<LiveChunk> _feed;

    internal LiveWatch(LiveRun run, IReadOnlyList<LiveChunk> backlog, bool trimmed, Channel<LiveChunk> feed)
    {
        _run = run;
        _feed = feed;
        Backlog = backlog;
        BacklogTrimmed = trimmed;
    }

    public IReadOnlyList<LiveChunk> Backlog { get; }

    public bool BacklogTrimmed { get; }

    public ChannelReader<LiveChunk> Feed => _feed.Reader;

    public void Dispose() => _run.Unwatch(_feed);
}
