using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Execution.Protocol;

/// <summary>
/// Turns a run's <see cref="RunEvent"/>s into iris-runner messages, in order. A seed client gets exactly
/// the seed's messages; a client that asked for <see cref="RunnerProtocolExtensions"/> gets one message per
/// event with nothing lost, which <see cref="RunnerProtocolClient"/> turns back into the same events.
/// </summary>
/// <remarks>
/// The seed mapping keeps a little state: a failed compile is reported when the run ends (the seed sends
/// <c>compile_error</c> and closes, without <c>exit</c>), so its output waits here until then.
/// </remarks>
internal sealed class RunnerEventMapper(bool extensions)
{
    private string? _failedCompileOutput;

    /// <summary>True when the client opted in to the protocol extensions.</summary>
    public bool Extensions => extensions;

    /// <summary>Why the connection closes after <see cref="RunExited"/> (the close frame's reason).</summary>
    public static string CloseReason(RunOutcome outcome) =>
        outcome.Stage == RunStage.Compile && outcome.Verdict == Verdict.CompileError ? "compile error" : "program exited";

    /// <summary>The wire's <c>return_code</c>: the exit code, else 128 + signal (a shell's <c>$?</c>), else -1.</summary>
    public static int ReturnCode(RunOutcome outcome) => outcome.ExitCode ?? (outcome.Signal is { } signal ? 128 + signal : -1);

    /// <summary>The messages for <paramref name="runEvent"/>; none for an event the client's dialect has no message for.</summary>
    public IReadOnlyList<RunnerServerMessage> Map(RunEvent runEvent)
    {
        switch (runEvent)
        {
            case CompileStarted:
                return extensions ? [new RunnerServerMessage { Type = RunnerMessageTypes.CompileStarted }] : [];
            case CompileFinished { Succeeded: true } compiled:
                return [WithUsage(new RunnerServerMessage { Type = RunnerMessageTypes.CompileSuccess, Data = compiled.Output, Stdout = compiled.Output }, compiled.Result)];
            case CompileFinished failed when extensions:
                return [WithUsage(new RunnerServerMessage { Type = RunnerMessageTypes.CompileError, Data = failed.Output, Stderr = failed.Output }, failed.Result)];
            case CompileFinished failed:
                _failedCompileOutput = failed.Output;
                return [];
            case ProgramStarted:
                return extensions ? [new RunnerServerMessage { Type = RunnerMessageTypes.Started }] : [];
            case OutputChunk chunk:
                return [new RunnerServerMessage { Type = chunk.Stream == OutputStream.Stdout ? RunnerMessageTypes.Stdout : RunnerMessageTypes.Stderr, Data = chunk.Text }];
            case InputEchoed echoed when extensions || echoed.Text != "\n":
                return [new RunnerServerMessage { Type = RunnerMessageTypes.Echo, Data = echoed.Text }];
            case RunNotice notice:
                return [Notice(notice.Message)];
            case RunExited exited:
                return extensions ? [ExtendedExit(exited.Outcome)] : SeedExit(exited.Outcome);
            default:
                return [];
        }
    }

    /// <summary>
    /// Something the user should be told. Seed terminals get it as stderr text framed <c>\r\n[...]\r\n</c>
    /// so they show it; extension clients get a <c>notice</c> they can tell apart from program output.
    /// </summary>
    public RunnerServerMessage Notice(string message) => extensions
        ? new RunnerServerMessage { Type = RunnerMessageTypes.Notice, Data = message }
        : new RunnerServerMessage { Type = RunnerMessageTypes.Stderr, Data = $"\r\n[{message}]\r\n" };

    private List<RunnerServerMessage> SeedExit(RunOutcome outcome)
    {
        if (outcome.Stage == RunStage.Compile && outcome.Verdict == Verdict.CompileError)
        {
            // The seed ends a failed compile with compile_error and a close, no exit message.
            var output = _failedCompileOutput ?? string.Empty;
            if (output.Length == 0 && outcome.Message is { } why)
            {
                output = why;
            }

            return [new RunnerServerMessage { Type = RunnerMessageTypes.CompileError, Data = output, Stderr = output }];
        }

        var messages = new List<RunnerServerMessage>();
        if (outcome.Stage == RunStage.Compile && outcome.Verdict != Verdict.Ok)
        {
            // Compilation was stopped (limit, user, internal error): show what the compiler said and why.
            if (_failedCompileOutput is { Length: > 0 } partial)
            {
                messages.Add(new RunnerServerMessage { Type = RunnerMessageTypes.Stderr, Data = partial });
            }

            if (outcome.Message is { } stopped)
            {
                messages.Add(Notice(stopped));
            }
        }
        else if (outcome.Verdict is Verdict.InternalError or Verdict.TimeLimit or Verdict.MemoryLimit && outcome.Message is { } why)
        {
            messages.Add(Notice(why));
        }

        messages.Add(new RunnerServerMessage
        {
            Type = RunnerMessageTypes.Exit,
            ReturnCode = ReturnCode(outcome),
            Verdict = outcome.Verdict.ToWireName(),
            TimeMs = (long)outcome.WallTime.TotalMilliseconds,
            MemoryBytes = outcome.PeakMemoryBytes,
            Message = outcome.Verdict == Verdict.Ok ? null : outcome.Message,
        });
        return messages;
    }

    /// <summary>Every field of the outcome, so the client rebuilds it exactly (times to the millisecond).</summary>
    private static RunnerServerMessage ExtendedExit(RunOutcome outcome) => new()
    {
        Type = RunnerMessageTypes.Exit,
        ReturnCode = ReturnCode(outcome),
        Verdict = outcome.Verdict.ToWireName(),
        TimeMs = (long)outcome.WallTime.TotalMilliseconds,
        MemoryBytes = outcome.PeakMemoryBytes,
        Message = outcome.Message,
        ExitCode = outcome.ExitCode,
        Signal = outcome.Signal,
        CpuMs = (long)outcome.CpuTime.TotalMilliseconds,
        Stage = outcome.Stage == RunStage.Compile ? "compile" : "run",
    };

    /// <summary>The compiler's own account, for extension clients; seed clients get the seed's fields only.</summary>
    private RunnerServerMessage WithUsage(RunnerServerMessage message, SandboxResult result) => !extensions ? message : message with
    {
        ReturnCode = result.ShellExitCode,
        Verdict = result.Verdict.ToWireName(),
        TimeMs = (long)result.WallTime.TotalMilliseconds,
        MemoryBytes = result.PeakMemoryBytes,
        Message = result.Message,
        ExitCode = result.ExitCode,
        Signal = result.Signal,
        CpuMs = (long)result.CpuTime.TotalMilliseconds,
    };
}
