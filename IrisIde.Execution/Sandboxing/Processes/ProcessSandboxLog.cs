using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Processes;

// Stable event ids 1200-1299. Never log user source or stdin.
internal static partial class ProcessSandboxLog
{
    [LoggerMessage(1200, LogLevel.Debug, "Process sandbox run {RunId} started: {Program} as pid {Pid}")]
    public static partial void RunStarted(ILogger logger, string runId, string program, int pid);

    [LoggerMessage(1201, LogLevel.Debug, "Process sandbox run {RunId} ended: {Verdict}, exit {ExitCode}, signal {Signal}")]
    public static partial void RunEnded(ILogger logger, string runId, Verdict verdict, int? exitCode, int? signal);

    [LoggerMessage(1202, LogLevel.Warning, "Process sandbox in use: the program is isolated only by rlimits, its uid and the surrounding pod")]
    public static partial void NotIsolated(ILogger logger);
}
