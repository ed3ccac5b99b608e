using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

internal static partial class CgroupLog
{
    [LoggerMessage(1100, LogLevel.Information, "Using cgroup {Version} for sandbox runs under {ParentPath}")]
    public static partial void HierarchyReady(ILogger logger, CgroupVersion version, string parentPath);

    [LoggerMessage(1101, LogLevel.Information, "Moved {Count} processes from {Path} into its init leaf so controllers can be enabled for children")]
    public static partial void MovedProcessesToInitLeaf(ILogger logger, int count, string path);

    [LoggerMessage(1102, LogLevel.Warning, "Optional cgroup setting {Path} could not be written")]
    public static partial void OptionalWriteFailed(ILogger logger, string path, Exception exception);

    [LoggerMessage(1103, LogLevel.Warning, "The freezer of {Path} did not report FROZEN; killing without it")]
    public static partial void FreezeTimedOut(ILogger logger, string path);

    [LoggerMessage(1104, LogLevel.Warning, "No swap accounting (memory.memsw / memory.swap.max) for {Path}; the memory limit does not cover swap")]
    public static partial void NoSwapAccounting(ILogger logger, string path);

    [LoggerMessage(1105, LogLevel.Warning, "Run cgroup {Path} was left frozen (its sandbox died during teardown): killed {Count} processes and thawed it")]
    public static partial void ReleasedFrozenRun(ILogger logger, string path, int count);

    [LoggerMessage(1106, LogLevel.Information, "Runs of this server go under {ParentPath}, limited to {MemoryBytes} bytes and {MaxProcesses} processes together")]
    public static partial void ParentLimited(ILogger logger, string parentPath, long memoryBytes, int maxProcesses);

    [LoggerMessage(1107, LogLevel.Warning, "Run cgroup {Path} was left by a server that is gone: killed its {Count} processes and removed it")]
    public static partial void RemovedLeftoverRun(ILogger logger, string path, int count);
}
