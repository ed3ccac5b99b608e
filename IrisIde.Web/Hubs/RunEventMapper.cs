using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Web.Ide;

namespace IrisIde.Web.Hubs;

/// <summary>Maps the pipeline's <see cref="RunEvent"/>s to the hub's wire events.</summary>
internal static class RunEventMapper
{
    public static RunEventMessage Started(Guid runId) => new() { Type = RunEventTypes.Started, RunId = runId.ToString() };

    public static RunEventMessage Error(string message) => new() { Type = RunEventTypes.Error, Message = message };

    /// <summary>Null for events the hub does not forward.</summary>
    public static RunEventMessage? Map(RunEvent runEvent, IReadOnlyCollection<string> fileNames) => runEvent switch
    {
        CompileStarted => new() { Type = RunEventTypes.Compiling },
        CompileFinished compiled => new()
        {
            Type = RunEventTypes.Compiled,
            Success = compiled.Succeeded,
            Output = compiled.Output,
            Diagnostics = [.. CompilerDiagnosticParser.Parse(compiled.Output, fileNames)
                .Select(d => new DiagnosticMessage(d.File, d.Line, d.Column, d.SeverityName, d.Message))],
        },
        ProgramStarted => new() { Type = RunEventTypes.Running },
        OutputChunk chunk => Output(chunk.Stream, chunk.Text),
        InputEchoed echoed => new() { Type = RunEventTypes.Echo, Data = echoed.Text },
        RunNotice notice => new() { Type = RunEventTypes.Notice, Message = notice.Message },
        RunExited exited => Exit(exited.Outcome),
        _ => null,
    };

    public static RunEventMessage Output(OutputStream stream, string text) =>
        new() { Type = stream == OutputStream.Stdout ? RunEventTypes.Stdout : RunEventTypes.Stderr, Data = text };

    private static RunEventMessage Exit(RunOutcome outcome) => new()
    {
        Type = RunEventTypes.Exit,
        Verdict = outcome.Verdict.ToWireName(),
        Stage = outcome.Stage == RunStage.Compile ? "compile" : "run",
        ExitCode = outcome.ExitCode,
        Signal = outcome.Signal,
        TimeMs = (long)outcome.WallTime.TotalMilliseconds,
        CpuMs = (long)outcome.CpuTime.TotalMilliseconds,
        MemoryBytes = outcome.PeakMemoryBytes,
        Message = outcome.Verdict == Verdict.Ok ? null : outcome.Message,
    };
}
