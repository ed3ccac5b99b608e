using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

// Stable event ids 1000-1099. Never log user source, stdin, or the program's arguments beyond argv[0].
internal static partial class BubblewrapSandboxLog
{
    [LoggerMessage(1000, LogLevel.Debug, "Sandbox run {RunId} started: {Program} as pid {Pid} in cgroup {CgroupVersion}")]
    public static partial void RunStarted(ILogger logger, string runId, string program, int pid, CgroupVersion cgroupVersion);

    [LoggerMessage(1001, LogLevel.Debug, "Sandbox run {RunId} ended: {Verdict}, exit {ExitCode}, signal {Signal}, wall {WallMs} ms, cpu {CpuMs} ms, peak {PeakBytes} bytes")]
    public static partial void RunEnded(ILogger logger, string runId, Verdict verdict, int? exitCode, int? signal, long wallMs, long cpuMs, long peakBytes);

    [LoggerMessage(1002, LogLevel.Debug, "Sandbox run {RunId} is being killed: {Verdict}")]
    public static partial void Killing(ILogger logger, string runId, Verdict verdict);

    [LoggerMessage(1003, LogLevel.Error, "Sandbox run {RunId}: processes were still alive in its cgroup after the kill timeout")]
    public static partial void KillTimedOut(ILogger logger, string runId);

    [LoggerMessage(1004, LogLevel.Error, "Sandbox run {RunId}: its cgroup could not be removed")]
    public static partial void CgroupNotRemoved(ILogger logger, string runId);

    [LoggerMessage(1005, LogLevel.Error, "Sandbox run {RunId}: bubblewrap exited with {ExitCode} before starting the program")]
    public static partial void SandboxSetupFailed(ILogger logger, string runId, int exitCode);

    [LoggerMessage(1006, LogLevel.Debug, "Sandbox run {RunId}: signal {Signal} not delivered, the program is gone")]
    public static partial void SignalNotDelivered(ILogger logger, string runId, int signal);

    [LoggerMessage(1007, LogLevel.Warning, "The host process is not root: sandboxes run as the current user and the workspace keeps its owner")]
    public static partial void NotRoot(ILogger logger);

    [LoggerMessage(1008, LogLevel.Warning, "fs.protected_hardlinks is off: a run could hard-link host files into a workspace that is later chowned")]
    public static partial void HardlinksUnprotected(ILogger logger);

    [LoggerMessage(1009, LogLevel.Error, "Sandbox run {RunId}: supervision failed")]
    public static partial void SupervisionFailed(ILogger logger, string runId, Exception exception);

    [LoggerMessage(1010, LogLevel.Error, "The sandbox could not be prepared at start-up (the runs' parent cgroup, the seccomp filter); every run will fail until this is fixed")]
    public static partial void PreparationFailed(ILogger logger, Exception exception);

    [LoggerMessage(1011, LogLevel.Warning, "Ended leftover process {Pid} of sandbox uid {Uid}, which no run holds (a crashed server's run)")]
    public static partial void LeftoverProcessKilled(ILogger logger, int pid, int uid);

    [LoggerMessage(1012, LogLevel.Warning, "Sandbox run {RunId}: the program ended but the sandbox did not; ending it")]
    public static partial void SandboxOutlivedProgram(ILogger logger, string runId);

    [LoggerMessage(1013, LogLevel.Error, "The sandbox's periodic sweep of leftovers failed; it runs again at the next interval")]
    public static partial void SweepFailed(ILogger logger, Exception exception);

    [LoggerMessage(1014, LogLevel.Warning, "A sandbox kept ready for the next run failed; runs start without one until the next succeeds")]
    public static partial void WarmSandboxFailed(ILogger logger, Exception exception);

    [LoggerMessage(1015, LogLevel.Warning, "No network namespace can be made ahead here; each run gets one of bwrap's own (Iris:Sandbox:ReuseNetworkNamespaces)")]
    public static partial void NetworkNamespacesUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(1016, LogLevel.Debug, "Prepared a sandbox root at {Path} ({ToolchainPaths} toolchain paths; -1: every catalogue language's)")]
    public static partial void RootPrepared(ILogger logger, string path, int toolchainPaths);

    [LoggerMessage(1017, LogLevel.Warning, "The sandbox root at {Path} could not be prepared; runs of its kind have bwrap build theirs (Iris:Sandbox:PrepareRoots)")]
    public static partial void RootNotPrepared(ILogger logger, string path, Exception exception);

    [LoggerMessage(1018, LogLevel.Warning, "The sandbox root at {Path} could not be detached; the runtime folder's removal unmounts it")]
    public static partial void RootNotRemoved(ILogger logger, string path, Exception exception);
}
