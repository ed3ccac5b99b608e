using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using IrisIde.Execution.Runs;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Workspaces;

/// <summary>Where and how big workspaces are.</summary>
/// <param name="Root">The workspace root, shared by every server process on the machine.</param>
/// <param name="SizeBytes">The byte cap of each workspace's tmpfs (<c>size=</c>).</param>
/// <param name="Inodes">The inode cap of each workspace's tmpfs (<c>nr_inodes=</c>).</param>
public sealed record WorkspaceSettings(string Root, long SizeBytes, long Inodes)
{
    /// <summary>False: plain folders even where mounting is permitted (what a non-root server gets).</summary>
    public bool MountTmpfs { get; init; } = true;

    public static WorkspaceSettings From(ExecutionOptions options) =>
        new(options.ResolveWorkspaceRoot(), options.WorkspaceSizeBytes, options.WorkspaceInodes);
}

/// <summary>
/// This server instance's share of the workspace root: it creates each run's workspace, removes it, and
/// sweeps what crashed instances left.
/// </summary>
/// <remarks>
/// Layout: <c>root/&lt;instance&gt;.lock</c> and <c>root/&lt;instance&gt;/run-&lt;random&gt;</c>. Several server
/// processes (and several hosts in one test process) share the root, so each instance holds an exclusive
/// flock on its lock file for its lifetime, taken before its folder exists and dropped only after its
/// folder is gone: a sweeper removes an instance's folder only while it holds that lock itself, which it
/// cannot while the instance lives (the kernel drops the lock when a process dies, however it dies). A
/// sweeper that took a lock file in the instant between its creation and its owner's flock unlinks it;
/// the owner sees its locked file is no longer the one at the path and starts over with a new id.
///
/// Each workspace is a tmpfs mount of its own (<c>size=</c>, <c>nr_inodes=</c>, <c>nosuid,nodev</c>,
/// <c>mode=0700</c>), so a program cannot take more of the host's RAM or inodes than the caps, and removal
/// is an unmount (<c>MNT_DETACH</c>) plus an rmdir of the then empty folder: no name or depth of what the
/// program made can make it fail. Without the right to mount (not root) workspaces are plain folders,
/// removed by <see cref="WorkspaceTree"/>. A removal that fails anyway is logged by the caller and
/// retried by the next sweep.
/// </remarks>
public sealed class WorkspaceArea : IDisposable
{
    /// <summary>Servers before the instance layout made <c>root/run-*</c> folders; one this old is no live run's.</summary>
    internal static readonly TimeSpan LegacyMinimumAge = TimeSpan.FromHours(1);

    private const string LockSuffix = ".lock";
    private const int InstanceIdLength = 32;

    private readonly WorkspaceSettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, bool> _failedRemovals = new(StringComparer.Ordinal);
    private Instance? _instance;
    private int _mountRefused;
    private bool _disposed;

    public WorkspaceArea(IOptions<ExecutionOptions> options, ILogger<WorkspaceArea> logger)
        : this(WorkspaceSettings.From(options.Value), logger)
    {
    }

    public WorkspaceArea(WorkspaceSettings settings, ILogger logger)
    {
        _settings = settings;
        _logger = logger;
    }

    public string Root => _settings.Root;

    /// <summary>This instance's folder under the root (created on first use).</summary>
    public string InstancePath => EnsureInstance().Path;

    /// <summary>A fresh, empty, private workspace.</summary>
    public Workspace Create()
    {
        var instance = EnsureInstance();
        var path = Path.Combine(instance.Path, "run-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)));
        var info = Directory.CreateDirectory(path);
        if (!OperatingSystem.IsWindows())
        {
            info.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }
        bool mounted;
        try
        {
            mounted = TryMount(path);
        }
        catch
        {
            info.Delete();
            throw;
        }

        return new Workspace(path, mounted, this);
    }

    /// <summary>
    /// A fresh workspace holding a copy of <paramref name="source"/>, a folder a sandboxed step left (a
    /// compiled program), copied by descriptor on raw names (<see cref="WorkspaceTree.Copy"/>). On failure
    /// nothing of the copy is left and the error says what stopped it.
    /// </summary>
    public Workspace CreateCopyOf(string source)
    {
        var copy = Create();
        try
        {
            WorkspaceTree.Copy(source, copy.Path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            try
            {
                Remove(copy.Path, copy.IsMount);
            }
            catch (Exception removal) when (removal is IOException or UnauthorizedAccessException)
            {
                WorkspaceLog.NotRemoved(_logger, copy.Path, removal);
            }

            throw new IOException($"The compiled program could not be copied into a fresh workspace: {ex.Message}", ex);
        }

        return copy;
    }

    /// <summary>
    /// Unmounts and removes a workspace. On failure the path is kept for the next <see cref="Sweep"/> and
    /// the exception goes to the caller, who logs it.
    /// </summary>
    internal void Remove(string path, bool isMount)
    {
        try
        {
            RemoveFolder(path, isMount);
            _failedRemovals.TryRemove(path, out _);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _failedRemovals[path] = isMount;
            throw;
        }
    }

    /// <summary>
    /// Retries this instance's failed removals, then removes what instances that are gone left under the
    /// root (their tmpfs mounts first) and <c>run-*</c> folders of the old layout older than
    /// <see cref="LegacyMinimumAge"/>. Never touches a live instance's folder. Logs what it removed.
    /// </summary>
    /// <returns>The folders removed.</returns>
    public IReadOnlyList<string> Sweep()
    {
        var removed = new List<string>();
        foreach (var (path, isMount) in _failedRemovals)
        {
            try
            {
                UnmountAllUnder(path);
                WorkspaceTree.Delete(path);
                _failedRemovals.TryRemove(path, out _);
                WorkspaceLog.RemovedOnRetry(_logger, path);
                removed.Add(path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WorkspaceLog.NotRemoved(_logger, path, ex);
            }
        }

        if (!Directory.Exists(Root))
        {
            return removed;
        }

        var ownId = Volatile.Read(ref _instance)?.Id;
        foreach (var entry in Directory.EnumerateFileSystemEntries(Root))
        {
            var name = Path.GetFileName(entry);
            try
            {
                if (name.EndsWith(LockSuffix, StringComparison.Ordinal) && name[..^LockSuffix.Length] is var id && IsInstanceId(id) && id != ownId)
                {
                    if (TrySweepInstance(id) is { } folder)
                    {
                        removed.Add(folder);
                    }
                }
                else if (IsInstanceId(name) && name != ownId && Directory.Exists(entry) && !Path.Exists(entry + LockSuffix))
                {
                    // Instances lock before they make their folder and unlock after removing it: a folder
                    // without a lock file has no live owner.
                    var mounts = UnmountAllUnder(entry);
                    WorkspaceTree.Delete(entry);
                    WorkspaceLog.InstanceSwept(_logger, entry, mounts);
                    removed.Add(entry);
                }
                else if (name.StartsWith("run-", StringComparison.Ordinal) && IsOlderThan(entry, LegacyMinimumAge))
                {
                    UnmountAllUnder(entry);
                    WorkspaceTree.Delete(entry);
                    WorkspaceLog.LegacyWorkspaceSwept(_logger, entry);
                    removed.Add(entry);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                WorkspaceLog.NotRemoved(_logger, entry, ex);
            }
        }

        return removed;
    }

    /// <summary>Removes this instance's folder (unmounting what is left in it) and releases its lock.</summary>
    public void Dispose()
    {
        Instance? instance;
        lock (_gate)
        {
            _disposed = true;
            instance = _instance;
            _instance = null;
        }

        if (instance is null)
        {
            return;
        }

        try
        {
            UnmountAllUnder(instance.Path);
            WorkspaceTree.Delete(instance.Path);
            File.Delete(instance.LockPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The lock file stays; once it is released below, the next sweep on this machine takes it over.
            WorkspaceLog.NotRemoved(_logger, instance.Path, ex);
        }
        finally
        {
            Interop.Close(instance.LockFd);
        }
    }

    private static void RemoveFolder(string path, bool isMount)
    {
        if (isMount && Interop.Umount2(path, Interop.MNT_DETACH) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno is not (Interop.EINVAL or Interop.ENOENT))
            {
                throw Interop.Error($"umount {path}", errno);
            }
        }

        // After the unmount an empty folder (one rmdir); a plain folder is walked by descriptor.
        WorkspaceTree.Delete(path);
    }

    private bool TryMount(string path)
    {
        if (!_settings.MountTmpfs || Volatile.Read(ref _mountRefused) != 0)
        {
            return false;
        }

        var options = $"size={_settings.SizeBytes},nr_inodes={_settings.Inodes},mode=0700";
        if (Interop.Mount("iris-workspace", path, "tmpfs", Interop.MS_NOSUID | Interop.MS_NODEV, options) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Interop.EPERM)
        {
            if (Interlocked.Exchange(ref _mountRefused, 1) == 0)
            {
                WorkspaceLog.MountRefused(_logger, Marshal.GetPInvokeErrorMessage(errno), Root);
            }

            return false;
        }

        throw Interop.Error($"mount tmpfs on {path}", errno);
    }

    private Instance EnsureInstance()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _instance ??= CreateInstance();
        }
    }

    private Instance CreateInstance()
    {
        Directory.CreateDirectory(Root);
        for (var attempt = 0; ; attempt++)
        {
            var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(InstanceIdLength / 2));
            var lockPath = Path.Combine(Root, id + LockSuffix);
            var lockName = Encoding.UTF8.GetBytes(lockPath + "\0");
            var fd = Interop.OpenAt(Interop.AT_FDCWD, lockName, Interop.O_RDWR | Interop.O_CREAT | Interop.O_EXCL | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, 0x180);
            if (fd < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Interop.EEXIST && attempt < 5)
                {
                    continue;
                }

                throw Interop.Error($"create {lockPath}", errno);
            }

            if (Interop.Flock(fd, Interop.LOCK_EX | Interop.LOCK_NB) != 0 || !IsStillAt(fd, lockName))
            {
                // A sweeper took it in the instant before our flock (and has unlinked it, or will).
                Interop.Close(fd);
                if (attempt < 5)
                {
                    continue;
                }

                throw new IOException($"Could not lock an instance folder under {Root}.");
            }

            var path = Path.Combine(Root, id);
            try
            {
                var info = Directory.CreateDirectory(path);
                // Others may search (bubblewrap runs as the sandbox uid and must reach the workspace) but not list.
                if (!OperatingSystem.IsWindows())
                {
                    info.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
                }
            }
            catch
            {
                File.Delete(lockPath);
                Interop.Close(fd);
                throw;
            }

            WorkspaceLog.InstanceCreated(_logger, path, _settings.SizeBytes, _settings.Inodes);
            return new Instance(id, path, lockPath, fd);
        }
    }

    /// <summary>Takes the lock of instance <paramref name="id"/> if its owner is gone, and removes what it left.</summary>
    private string? TrySweepInstance(string id)
    {
        var lockPath = Path.Combine(Root, id + LockSuffix);
        var fd = Interop.OpenAt(Interop.AT_FDCWD, Encoding.UTF8.GetBytes(lockPath + "\0"), Interop.O_RDWR | Interop.O_NOFOLLOW | Interop.O_CLOEXEC, 0);
        if (fd < 0)
        {
            return null; // removed by its owner or another sweeper meanwhile
        }

        try
        {
            if (Interop.Flock(fd, Interop.LOCK_EX | Interop.LOCK_NB) != 0)
            {
                return null; // alive
            }

            var folder = Path.Combine(Root, id);
            var mounts = UnmountAllUnder(folder);
            WorkspaceTree.Delete(folder);
            File.Delete(lockPath);
            WorkspaceLog.InstanceSwept(_logger, folder, mounts);
            return folder;
        }
        finally
        {
            Interop.Close(fd);
        }
    }

    /// <summary>Detaches every mount at or below <paramref name="folder"/>, deepest first; returns how many.</summary>
    private static int UnmountAllUnder(string folder)
    {
        var points = MountTable.MountPointsUnder(folder);
        foreach (var point in points)
        {
            if (Interop.Umount2(point, Interop.MNT_DETACH) != 0 && Marshal.GetLastPInvokeError() is var errno && errno is not (Interop.EINVAL or Interop.ENOENT))
            {
                throw Interop.Error($"umount {point}", errno);
            }
        }

        return points.Count;
    }

    private static bool IsStillAt(int fd, byte[] path) =>
        Interop.StatXAt(fd, [0], Interop.AT_EMPTY_PATH, Interop.STATX_INO, out var held) == 0
        && Interop.StatXAt(Interop.AT_FDCWD, path, Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_INO, out var current) == 0
        && held.Identity == current.Identity;

    private static bool IsOlderThan(string path, TimeSpan age) =>
        Interop.StatXAt(Interop.AT_FDCWD, Encoding.UTF8.GetBytes(path + "\0"), Interop.AT_SYMLINK_NOFOLLOW, Interop.STATX_MTIME, out var stat) == 0
        && DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(stat.ModifiedSeconds) > age;

    private static bool IsInstanceId(string name) =>
        name.Length == InstanceIdLength && name.All(char.IsAsciiHexDigitLower);

    private sealed record Instance(string Id, string Path, string LockPath, int LockFd);
}
