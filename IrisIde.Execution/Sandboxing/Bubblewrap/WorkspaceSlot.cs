using MountInterop = IrisIde.Execution.Workspaces.Interop;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// The <c>/workspace</c> of a sandbox made ready before its run is known: a tiny empty tmpfs of its
/// own with shared propagation, which bwrap binds into the sandbox (its copy there is a slave). When
/// a run takes the sandbox, its workspace is bind-mounted onto the slot on the host and the kernel
/// propagates that mount into the sandbox; init then enters <c>/workspace</c> by name and sees it.
/// </summary>
internal sealed class WorkspaceSlot : IDisposable
{
    private int _disposed;

    private WorkspaceSlot(string path) => Path = path;

    public string Path { get; }

    /// <summary>Mounts a new slot at <paramref name="path"/> (created; its parent must exist).</summary>
    public static WorkspaceSlot Create(string path)
    {
        Directory.CreateDirectory(path);
        var slot = new WorkspaceSlot(path);
        try
        {
            MountInterop.ThrowIfFailed(MountInterop.Mount("iris-slot", path, "tmpfs", MountInterop.MS_NOSUID | MountInterop.MS_NODEV | MountInterop.MS_NOEXEC,
                "size=4k,nr_inodes=4,mode=0755"), "mount a workspace slot at " + path);
            MountInterop.ThrowIfFailed(MountInterop.Mount("none", path, "", MountInterop.MS_SHARED, ""), "make the workspace slot shared");
            return slot;
        }
        catch
        {
            slot.Dispose();
            throw;
        }
    }

    /// <summary>Shows <paramref name="workspace"/> at the slot, in the host and in the sandbox that binds it.</summary>
    public void Attach(string workspace) =>
        MountInterop.ThrowIfFailed(MountInterop.Mount(workspace, Path, "", MountInterop.MS_BIND, ""), "bind the workspace onto its slot");

    /// <summary>Detaches the workspace (when attached) and the slot, then removes the folder.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Two mounts at most are stacked here (the slot, then the workspace); the loop stops at the first
        // failure (EINVAL: nothing mounted any more). A folder still mounted then refuses deletion.
        for (var i = 0; i < 4 && MountInterop.Umount2(Path, MountInterop.MNT_DETACH) == 0; i++)
        {
        }

        Directory.Delete(Path);
    }
}
