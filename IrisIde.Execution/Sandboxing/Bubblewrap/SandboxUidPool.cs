using System.Globalization;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// Hands each concurrent run a host uid (and the same gid) of its own from the configured range, so
/// no per-uid kernel quota or keyring (keys, inotify instances, POSIX message queues, RLIMIT_NPROC,
/// signals across namespaces) is shared between two students' runs.
/// </summary>
/// <remarks>
/// A uid is taken by holding an exclusive flock on <c>{directory}/{uid}.lock</c> (a FileStream with
/// FileShare.None), so every server process on the machine that uses the same directory — web apps,
/// workers, test hosts — shares the range safely, and a crashed server's uids are free again the
/// moment its descriptors close. A uid is released only after every process of its run has ended.
/// </remarks>
internal sealed class SandboxUidPool
{
    private readonly int _first;
    private readonly int _count;
    private readonly string _directory;
    private readonly Lock _gate = new();
    private readonly HashSet<int> _held = [];
    private int _next;
    private bool _directoryCreated;

    public SandboxUidPool(int first, int count, string directory)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(first);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        _first = first;
        _count = count;
        _directory = directory;
    }

    /// <summary>The range, first uid included, last excluded.</summary>
    public (int First, int End) Range => (_first, _first + _count);

    /// <summary>Takes a free uid, or throws <see cref="SandboxUidsExhaustedException"/> when every uid of the range is in use.</summary>
    public SandboxUidLease Acquire() => TryAcquire() ?? throw new SandboxUidsExhaustedException(_first, _count);

    /// <summary>Takes a free uid; null when every uid of the range is in use.</summary>
    public SandboxUidLease? TryAcquire()
    {
        lock (_gate)
        {
            EnsureDirectory();
            for (var attempt = 0; attempt < _count; attempt++)
            {
                var uid = _first + ((_next + attempt) % _count);
                if (_held.Contains(uid) || TryLock(uid) is not { } lockFile)
                {
                    continue;
                }

                _held.Add(uid);
                _next = (_next + attempt + 1) % _count;
                return new SandboxUidLease(this, uid, lockFile);
            }
        }

        return null;
    }

    /// <summary>True when no process on this machine holds <paramref name="uid"/> through this pool's directory.</summary>
    public bool IsFree(int uid)
    {
        lock (_gate)
        {
            if (_held.Contains(uid))
            {
                return false;
            }

            EnsureDirectory();
            using var lockFile = TryLock(uid);
            return lockFile is not null;
        }
    }

    /// <summary>Once per process (under the gate), not on every run's start.</summary>
    private void EnsureDirectory()
    {
        if (!_directoryCreated)
        {
            Directory.CreateDirectory(_directory);
            _directoryCreated = true;
        }
    }

    private FileStream? TryLock(int uid)
    {
        try
        {
            return new FileStream(
                Path.Combine(_directory, uid.ToString(CultureInfo.InvariantCulture) + ".lock"),
                new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None, BufferSize = 0 });
        }
        catch (IOException)
        {
            // Held by another run, here or in another process.
            return null;
        }
    }

    internal void Release(int uid, FileStream lockFile)
    {
        lock (_gate)
        {
            lockFile.Dispose();
            _held.Remove(uid);
        }
    }
}

/// <summary>One run's uid; disposing it frees the uid (and the network namespace that went with it) for the next run.</summary>
internal sealed class SandboxUidLease(SandboxUidPool pool, int uid, FileStream lockFile) : IDisposable
{
    private int _released;

    public int Uid { get; } = uid;

    /// <summary>The run's network namespace, taken with its uid and given back with it: both once every process of the run has ended.</summary>
    public NetworkNamespaceLease? Network { get; set; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            Network?.Dispose();
            pool.Release(Uid, lockFile);
        }
    }
}

/// <summary>Every uid of the range is in use: more runs at once than the range was sized for.</summary>
public sealed class SandboxUidsExhaustedException(int first, int count)
    : InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
        $"All {count} sandbox uids ({first}–{first + count - 1}) are in use; raise Iris:Sandbox:UidCount or lower the capacity."));
