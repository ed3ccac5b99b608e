using System.Globalization;
using System.Threading.Channels;
using k8s;
using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>One change to a pod, kept in the history a watch replays from: the pod after it and (for MODIFIED) before it.</summary>
internal sealed record PodEvent(long ResourceVersion, string Type, V1Pod Pod, V1Pod? Previous);

/// <summary>One line of a watch stream: its type and its object (a pod, or a <c>Status</c> for ERROR).</summary>
internal sealed record WatchItem(string Type, object Object);

/// <summary>
/// The API server's state, apart from its HTTP surface so it outlives a restart: pods, one resource version counter for
/// every change (as etcd's revision is), the history of changes a watch replays, and the open watches. Every change
/// and every watch registration happens under one lock, so a watch that replays the history and then follows live
/// changes can neither miss nor repeat one. Stored pods are never mutated: a change stores a changed copy.
/// </summary>
internal sealed class PodStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Namespace, string Name), V1Pod> _pods = [];
    private readonly List<PodEvent> _history = [];
    private readonly List<PodWatch> _watches = [];
    private long _resourceVersion;
    private long _historyStart;

    public long ResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    /// <summary>The newest version a watch can no longer start from (0 until <see cref="Compact"/>).</summary>
    public long CompactedThrough
    {
        get
        {
            lock (_gate)
            {
                return _historyStart;
            }
        }
    }

    public static V1Pod Clone(V1Pod pod) => KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(pod));

    public IReadOnlyList<V1Pod> List(string? @namespace, PodSelector selector, out long resourceVersion)
    {
        lock (_gate)
        {
            resourceVersion = _resourceVersion;
            return [.. _pods.Values
                .Where(p => (@namespace is null || p.Metadata.NamespaceProperty == @namespace) && selector.Matches(p))
                .OrderBy(p => p.Metadata.NamespaceProperty, StringComparer.Ordinal)
                .ThenBy(p => p.Metadata.Name, StringComparer.Ordinal)
                .Select(Clone)];
        }
    }

    public V1Pod? Get(string @namespace, string name)
    {
        lock (_gate)
        {
            return _pods.TryGetValue((@namespace, name), out var pod) ? Clone(pod) : null;
        }
    }

    /// <summary>Stores <paramref name="pod"/> (its name already chosen) unless the name is taken; returns what was stored.</summary>
    public V1Pod? Add(V1Pod pod)
    {
        var stored = Clone(pod);
        lock (_gate)
        {
            var key = (stored.Metadata.NamespaceProperty, stored.Metadata.Name);
            if (_pods.ContainsKey(key))
            {
                return null;
            }

            Publish("ADDED", stored, previous: null);
            _pods[key] = stored;
            return Clone(stored);
        }
    }

    /// <summary>Applies <paramref name="change"/> to a copy of the pod with that uid and stores it; null when it is gone.</summary>
    public V1Pod? Update(string @namespace, string name, string? uid, Action<V1Pod> change)
    {
        lock (_gate)
        {
            if (!_pods.TryGetValue((@namespace, name), out var previous) || (uid is not null && previous.Metadata.Uid != uid))
            {
                return null;
            }

            var changed = Clone(previous);
            change(changed);
            Publish("MODIFIED", changed, previous);
            _pods[(@namespace, name)] = changed;
            return Clone(changed);
        }
    }

    public V1Pod? Remove(string @namespace, string name)
    {
        lock (_gate)
        {
            if (!_pods.Remove((@namespace, name), out var pod))
            {
                return null;
            }

            // The DELETED event carries the pod at a version of its own, as the API server's does.
            var deleted = Clone(pod);
            Publish("DELETED", deleted, previous: null);
            return Clone(deleted);
        }
    }

    public void Compact()
    {
        lock (_gate)
        {
            _history.Clear();
            _historyStart = _resourceVersion;
        }
    }

    /// <summary>
    /// Opens a watch: without <paramref name="fromVersion"/>, ADDED for every pod it selects, then live changes; with
    /// it, every kept change after that version, then live changes. Null when that version is compacted away (410).
    /// </summary>
    public PodWatch? Watch(string? @namespace, PodSelector selector, long? fromVersion, bool bookmarks)
    {
        lock (_gate)
        {
            if (fromVersion < _historyStart)
            {
                return null;
            }

            var watch = new PodWatch(this, @namespace, selector, bookmarks);
            if (fromVersion is { } from)
            {
                foreach (var change in _history.Where(e => e.ResourceVersion > from))
                {
                    watch.Offer(change);
                }
            }
            else
            {
                foreach (var pod in _pods.Values.Where(watch.Selects))
                {
                    watch.Write(new WatchItem("ADDED", pod));
                }
            }

            _watches.Add(watch);
            return watch;
        }
    }

    public void Bookmark(PodWatch watch)
    {
        lock (_gate)
        {
            watch.Write(new WatchItem("BOOKMARK", new V1Pod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new V1ObjectMeta { ResourceVersion = Format(_resourceVersion) },
            }));
        }
    }

    public void BookmarkAll()
    {
        lock (_gate)
        {
            foreach (var watch in _watches.Where(w => w.Bookmarks))
            {
                Bookmark(watch);
            }
        }
    }

    public void BreakAll()
    {
        lock (_gate)
        {
            foreach (var watch in _watches)
            {
                watch.Break();
            }

            _watches.Clear();
        }
    }

    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watches.Count;
            }
        }
    }

    internal void Close(PodWatch watch)
    {
        lock (_gate)
        {
            _watches.Remove(watch);
        }
    }

    internal static string Format(long resourceVersion) => resourceVersion.ToString(CultureInfo.InvariantCulture);

    private void Publish(string type, V1Pod pod, V1Pod? previous)
    {
        pod.Metadata.ResourceVersion = Format(++_resourceVersion);
        var change = new PodEvent(_resourceVersion, type, pod, previous);
        _history.Add(change);
        foreach (var watch in _watches)
        {
            watch.Offer(change);
        }
    }
}

/// <summary>
/// One open watch: what it selects and the queue of lines for its HTTP stream. A change that makes a pod start or stop
/// matching reaches it as ADDED or DELETED, as the API server's watch cache does.
/// </summary>
internal sealed class PodWatch(PodStore store, string? @namespace, PodSelector selector, bool bookmarks) : IDisposable
{
    private readonly Channel<WatchItem> _lines = Channel.CreateUnbounded<WatchItem>(new UnboundedChannelOptions { SingleReader = true });

    public bool Bookmarks => bookmarks;

    /// <summary>Set when the test broke it: its stream ends without a proper end, as a dropped connection does.</summary>
    public bool IsBroken { get; private set; }

    public ChannelReader<WatchItem> Lines => _lines.Reader;

    public bool Selects(V1Pod pod) => (@namespace is null || pod.Metadata.NamespaceProperty == @namespace) && selector.Matches(pod);

    public void Offer(PodEvent change)
    {
        var now = Selects(change.Pod);
        var before = change.Previous is not null && Selects(change.Previous);
        var type = change.Type switch
        {
            "MODIFIED" => (before, now) switch
            {
                (true, true) => "MODIFIED",
                (false, true) => "ADDED",
                (true, false) => "DELETED",
                _ => null,
            },
            _ => now ? change.Type : null,
        };
        if (type is not null)
        {
            Write(new WatchItem(type, change.Pod));
        }
    }

    public void Write(WatchItem item) => _lines.Writer.TryWrite(item);

    public void Break()
    {
        IsBroken = true;
        _lines.Writer.TryComplete();
    }

    public void Dispose()
    {
        _lines.Writer.TryComplete();
        store.Close(this);
    }
}
