using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Workspaces;

internal static partial class WorkspaceLog
{
    [LoggerMessage(EventId = 2300, Level = LogLevel.Warning, Message = "Workspaces cannot be tmpfs mounts here (mount: {Error}); runs use plain folders under {Root}, without the byte and inode caps")]
    public static partial void MountRefused(ILogger logger, string error, string root);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Warning, Message = "Removed what a server instance that is gone left under the workspace root: {Folder} ({Mounts} tmpfs mounts)")]
    public static partial void InstanceSwept(ILogger logger, string folder, int mounts);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Warning, Message = "Removed a workspace left in the old layout: {Folder}")]
    public static partial void LegacyWorkspaceSwept(ILogger logger, string folder);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Information, Message = "Removed workspace {Folder} on retry")]
    public static partial void RemovedOnRetry(ILogger logger, string folder);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Error, Message = "Could not remove {Folder}; the next sweep tries again")]
    public static partial void NotRemoved(ILogger logger, string folder, Exception exception);

    [LoggerMessage(EventId = 2305, Level = LogLevel.Error, Message = "The workspace sweep failed; it runs again in {IntervalSeconds} s")]
    public static partial void SweepFailed(ILogger logger, double intervalSeconds, Exception exception);

    [LoggerMessage(EventId = 2306, Level = LogLevel.Information, Message = "Workspaces of this server instance live in {Folder} (tmpfs {SizeBytes} bytes, {Inodes} inodes each)")]
    public static partial void InstanceCreated(ILogger logger, string folder, long sizeBytes, long inodes);
}
