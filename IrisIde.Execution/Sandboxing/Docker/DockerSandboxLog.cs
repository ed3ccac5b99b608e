using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Docker;

internal static partial class DockerSandboxLog
{
    [LoggerMessage(EventId = 7101, Level = LogLevel.Debug, Message = "Docker step {StepId}: {Program} in container {ContainerId} ({Runtime})")]
    public static partial void StepStarted(ILogger logger, string stepId, string program, string containerId, string runtime);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Debug, Message = "Docker step {StepId} ended: {Verdict}, exit {ExitCode}, signal {Signal}")]
    public static partial void StepEnded(ILogger logger, string stepId, Verdict verdict, int? exitCode, int? signal);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Warning, Message = "Docker step {StepId}: {Problem}")]
    public static partial void StepProblem(ILogger logger, string stepId, string problem);
}
