using System.Buffers;
using System.Text;
using System.Threading.Channels;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Runs;

/// <summary>
/// One run in progress: its ordered events, its stdin, and the controls a client has over it.
/// </summary>
/// <remarks>
/// Lifecycle: <see cref="RunPipeline"/> creates the session and starts <c>ExecuteAsync</c> in the
/// background. Events are written to a bounded channel so a slow reader slows the program down (its
/// pipe fills) instead of growing memory. A reader that goes away must dispose the session: that stops
/// the program and lets the pipeline drop, rather than wait on, events nobody will read. The
/// <see cref="RunExited"/> event is always last and is written after the workspace is gone.
/// </remarks>
public sealed class RunSession : IRunSession
{
    /// <summary>Input the program has not read yet; past this, further input is refused with a notice.</summary>
    public const int MaxPendingInputBytes = 1024 * 1024;

    private const int ReadBufferSize = 16 * 1024;

    /// <summary>
    /// How long output is still read after the program ended. Whatever it started ends with it in every sandbox, so its
    /// output ends at once; this only bounds the wait where a process outlived it (a runner under gVisor, which cannot
    /// hold what left the program's session), so the run still ends.
    /// </summary>
    internal static readonly TimeSpan OutputGrace = TimeSpan.FromSeconds(5);

    private readonly RunPlan _plan;
    private readonly ISandbox _sandbox;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _startedAt;
    private readonly Channel<RunEvent> _events = Channel.CreateBounded<RunEvent>(new BoundedChannelOptions(1024)
    {
        FullMode = BoundedChannelFullMode.Wait,
        SingleReader = false,
        SingleWriter = false,
    });
    private readonly Channel<string> _input = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    // Held while input is queued and its echo emitted; the feeder takes it before writing to the program, so an
    // echo is always in the event stream before anything the program prints in answer to it. (Never disposed: no
    // wait handle is ever made.)
    private readonly SemaphoreSlim _inputOrder = new(1, 1);
    private readonly CancellationTokenSource _abandoned = new();
    private readonly TaskCompletionSource<RunOutcome> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly Stack<Func<ValueTask>> _cleanup = new();
    private ISandboxProcess? _current;
    private (Verdict Verdict, string Message)? _stopRequest;
    private long _pendingInputBytes;
    private long _lastActivity;
    private readonly SignalAllowance _signals;
    private Task? _disposal;
    private volatile bool _resultOut;

    internal RunSession(RunPlan plan, ISandbox sandbox, TimeProvider time, ILogger logger)
    {
        _plan = plan;
        _sandbox = sandbox;
        _time = time;
        _logger = logger;
        _startedAt = time.GetTimestamp();
        _lastActivity = _startedAt;
        _signals = new SignalAllowance(time);
        if (plan.Request.Mode == RunMode.Batch)
        {
            if (plan.Request.Stdin is { Length: > 0 } stdin)
            {
                _input.Writer.TryWrite(stdin);
            }

            _input.Writer.TryComplete();
        }
    }

    public Guid Id { get; } = Guid.CreateVersion7();

    public LanguageDefinition Language => _plan.Language;

    public RunRequest Request => _plan.Request;

    public BatchLimits Limits => RunRequestFactory.ToBatchLimits(_plan.RunLimits);

    BatchLimits? IRunSession.Limits => Limits;

    /// <summary>The events of this run; <see cref="RunExited"/> is last, then the channel completes.</summary>
    public ChannelReader<RunEvent> Events => _events.Reader;

    /// <summary>Completes with the outcome once the run is over and its workspace deleted.</summary>
    public Task<RunOutcome> Completion => _completion.Task;

    internal void Start() => _ = Task.Run(ExecuteAsync);

    /// <summary>
    /// Queues input for the program (delivered once it runs). A lone <c>\r</c> or <c>\r\n</c> becomes
    /// <c>\n</c>: terminals send carriage returns, programs expect newlines. Returns false when the input
    /// was refused (stdin closed, run over, or too much unread input); the reason is sent as a notice.
    /// </summary>
    public async ValueTask<bool> WriteInputAsync(string text, CancellationToken cancellationToken)
    {
        var normalized = NormalizeNewlines(text);
        if (normalized.Length == 0)
        {
            return true;
        }

        var bytes = Encoding.UTF8.GetByteCount(normalized);
        if (Interlocked.Add(ref _pendingInputBytes, bytes) > MaxPendingInputBytes)
        {
            Interlocked.Add(ref _pendingInputBytes, -bytes);
            await EmitAsync(new RunNotice($"input refused: the program has more than {MaxPendingInputBytes} bytes of unread input"), cancellationToken);
            return false;
        }

        await _inputOrder.WaitAsync(cancellationToken);
        try
        {
            if (!_input.Writer.TryWrite(normalized))
            {
                Interlocked.Add(ref _pendingInputBytes, -bytes);
                return false;
            }

            Touch();
            if (_plan.Request.Mode == RunMode.Interactive)
            {
                await EmitAsync(new InputEchoed(normalized), cancellationToken);
            }

            return true;
        }
        finally
        {
            _inputOrder.Release();
        }
    }

    /// <summary>Closes the program's stdin once the queued input is delivered (Ctrl+D).</summary>
    public void CloseInput() => _input.Writer.TryComplete();

    /// <summary>
    /// Sends a signal to the program (SIGINT for Ctrl+C). Ignored before the program runs, and past the
    /// <see cref="SignalAllowance"/>.
    /// </summary>
    public void Signal(int signal)
    {
        Touch();
        if (!_signals.TryTake())
        {
            RunPipelineLog.SignalDropped(_logger, Id, signal, SignalAllowance.PerSecond);
            return;
        }

        Volatile.Read(ref _current)?.Signal(signal);
    }

    /// <summary>What the program (or its compiler, while compiling) has used so far; null between stages and after.</summary>
    public SandboxUsage? ReadUsage() => Volatile.Read(ref _current)?.ReadUsage();

    /// <summary>Time since the last input or output (what the idle timeout measures).</summary>
    public TimeSpan? IdleFor => _time.GetElapsedTime(Interlocked.Read(ref _lastActivity));

    /// <summary>Ends the run now; the outcome reports <paramref name="verdict"/> (default <c>killed</c>).</summary>
    public void Stop(Verdict verdict = Verdict.Killed, string message = "stopped by user")
    {
        ISandboxProcess? current;
        lock (_gate)
        {
            _stopRequest ??= (verdict, message);
            current = _current;
        }

        _input.Writer.TryComplete();
        current?.Kill(verdict, message);
    }

    /// <summary>
    /// Stops the run if it is still going and waits until it is fully cleaned up. Idempotent: every call,
    /// concurrent ones included, waits for the one disposal.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        Task disposal;
        lock (_gate)
        {
            disposal = _disposal ??= DisposeCoreAsync();
        }

        return new ValueTask(disposal);
    }

    private async Task DisposeCoreAsync()
    {
        if (!_resultOut)
        {
            Stop(Verdict.Killed, "the client went away");
        }

        // _abandoned is never disposed: a late WriteInputAsync or Stop from a client that has not noticed
        // the end yet still reads its token, and a source without a timer holds nothing to release.
        await _abandoned.CancelAsync();
        await _completion.Task.ConfigureAwait(false);
    }

    internal static string NormalizeNewlines(string text) =>
        text.Contains('\r', StringComparison.Ordinal) ? text.Replace("\r\n", "\n", StringComparison.Ordinal).Replace('\r', '\n') : text;

    private async Task ExecuteAsync()
    {
        RunOutcome outcome;
        try
        {
            outcome = await ExecuteStagesAsync();
        }
        catch (SandboxUidsExhaustedException ex)
        {
            // More runs at once than the sandbox's uid range: the server is full, not broken.
            RunPipelineLog.RunFailed(_logger, Id, ex);
            outcome = RunOutcome.Failed(RunStage.Run, Admission.RunAdmission.AtCapacityMessage);
        }
        catch (Exception ex)
        {
            RunPipelineLog.RunFailed(_logger, Id, ex);
            outcome = RunOutcome.Failed(RunStage.Run, "internal error: the run could not be completed");
        }

        RunPipelineLog.RunEnded(_logger, Id, outcome.Verdict, outcome.Stage, outcome.ExitCode,
            (long)outcome.WallTime.TotalMilliseconds, (long)outcome.CpuTime.TotalMilliseconds, outcome.PeakMemoryBytes);
        _resultOut = true;
        await EmitAsync(new RunExited(outcome), CancellationToken.None);
        _events.Writer.TryComplete();

        // The result is out; removing the sandbox and the workspace is not on its path. Completion
        // (and so the admission slot) waits for it.
        await CleanUpAsync();
        _completion.TrySetResult(outcome);
    }

    /// <summary>Disposes what the stages left, last first (the program's sandbox before its workspace).</summary>
    private async Task CleanUpAsync()
    {
        while (_cleanup.TryPop(out var dispose))
        {
            try
            {
                await dispose();
            }
            catch (Exception ex)
            {
                RunPipelineLog.CleanupFailed(_logger, Id, ex);
            }
        }
    }

    private async Task<RunOutcome> ExecuteStagesAsync()
    {
        // A program compiled by an earlier run of the same request starts from a fresh copy of that
        // compiled folder, so it sees neither a recompile nor anything an earlier run wrote.
        var compiledPath = _plan.Compiled?.Path;
        var workspace = compiledPath is null ? _plan.Workspaces.Create() : _plan.Workspaces.CreateCopyOf(compiledPath);
        _cleanup.Push(async () =>
        {
            try
            {
                await workspace.DisposeAsync();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                RunPipelineLog.WorkspaceNotDeleted(_logger, Id, workspace.Path, ex);
            }
        });

        if (compiledPath is null)
        {
            foreach (var file in _plan.Files)
            {
                await workspace.WriteFileAsync(file.Name, file.Content, CancellationToken.None);
            }
        }

        if (compiledPath is null && _plan.CompileCommand is { } compile)
        {
            await EmitAsync(new CompileStarted(), CancellationToken.None);
            var (result, output) = await CompileAsync(compile, workspace.Path);
            var succeeded = result.Verdict == Verdict.Ok && result.ExitCode == 0;
            await EmitAsync(new CompileFinished(succeeded, output, result), CancellationToken.None);
            if (!succeeded)
            {
                var verdict = result.Verdict == Verdict.Killed ? Verdict.Killed : Verdict.CompileError;
                var message = result.Verdict switch
                {
                    Verdict.Ok or Verdict.RuntimeError => $"compilation failed (exit code {result.ShellExitCode})",
                    Verdict.Killed => result.Message ?? "stopped during compilation",
                    _ => $"compilation stopped: {result.Message ?? result.Verdict.ToWireName()}",
                };
                return RunOutcome.From(result, RunStage.Compile, verdict) with { Message = message };
            }

            _plan.Compiled?.Capture(workspace.Path, _plan.Workspaces);
        }

        if (StopRequested() is { } stop)
        {
            return new RunOutcome(stop.Verdict, RunStage.Run, null, null, TimeSpan.Zero, TimeSpan.Zero, 0, stop.Message);
        }

        await EmitAsync(new ProgramStarted(), CancellationToken.None);
        return await RunProgramAsync(workspace.Path);
    }

    private async Task<(SandboxResult Result, string Output)> CompileAsync(IReadOnlyList<string> command, string workspacePath)
    {
        var limits = _plan.CompileLimits;
        var spec = new SandboxSpec(command, workspacePath, limits.ToSandboxLimits(), _plan.Language.Environment, _plan.Language.Toolchain);
        await using var process = await StartProcessAsync(spec);
        process.StandardInput.Close();
        var output = new StringBuilder();
        var budget = new OutputBudget(limits.OutputBytes, null, _time);
        using var outputOver = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        var pumps = new[]
        {
            PumpAsync(process, process.StandardOutput, budget, text => { lock (output) { output.Append(text); } }, outputOver.Token),
            PumpAsync(process, process.StandardError, budget, text => { lock (output) { output.Append(text); } }, outputOver.Token),
        };
        var result = await process.Completion;
        outputOver.CancelAfter(OutputGrace);
        await Task.WhenAll(pumps);
        lock (output)
        {
            return (result, output.ToString());
        }
    }

    private async Task<RunOutcome> RunProgramAsync(string workspacePath)
    {
        var limits = _plan.RunLimits;
        var spec = new SandboxSpec(
            _plan.RunCommand, workspacePath, limits.ToSandboxLimits(_plan.IdleTimeout), _plan.Language.Environment, _plan.Language.Toolchain);
        var process = await StartProcessAsync(spec);
        _cleanup.Push(process.DisposeAsync);
        Touch(); // idle time counts from the program's start, not from the request (compiling is not idling)
        using var inputDone = new CancellationTokenSource();
        var window = limits.OutputWindowSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        using var outputOver = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        var stdout = PumpAsync(process, process.StandardOutput, new OutputBudget(limits.OutputBytes, window, _time),
            text => EmitAsync(new OutputChunk(OutputStream.Stdout, text), CancellationToken.None), outputOver.Token);
        var stderr = PumpAsync(process, process.StandardError, new OutputBudget(limits.OutputBytes, window, _time),
            text => EmitAsync(new OutputChunk(OutputStream.Stderr, text), CancellationToken.None), outputOver.Token);
        var stdin = FeedInputAsync(process.StandardInput, inputDone.Token);
        var idle = _plan.IdleTimeout is { } idleTimeout ? WatchIdleAsync(process, idleTimeout, inputDone.Token) : Task.CompletedTask;

        var result = await process.Completion;
        await inputDone.CancelAsync();
        outputOver.CancelAfter(OutputGrace);
        await Task.WhenAll(stdout, stderr, stdin, idle);
        return RunOutcome.From(result, RunStage.Run);
    }

    private async Task<ISandboxProcess> StartProcessAsync(SandboxSpec spec)
    {
        var process = await _sandbox.StartAsync(spec, CancellationToken.None);
        (Verdict Verdict, string Message)? stop;
        lock (_gate)
        {
            _current = process;
            stop = _stopRequest;
        }

        if (stop is { } s)
        {
            process.Kill(s.Verdict, s.Message);
        }

        return process;
    }

    private (Verdict Verdict, string Message)? StopRequested()
    {
        lock (_gate)
        {
            return _stopRequest;
        }
    }

    /// <summary>
    /// Reads raw bytes as they come (no line buffering) and decodes them with a stateful UTF-8 decoder,
    /// so a character split across two reads is held back until complete and never split between
    /// chunks; invalid bytes become U+FFFD.
    /// </summary>
    private async Task PumpAsync(ISandboxProcess process, Stream stream, OutputBudget budget, Func<string, ValueTask> emit, CancellationToken outputOver)
    {
        var decoder = new UTF8Encoding(false, false).GetDecoder();
        var bytes = ArrayPool<byte>.Shared.Rent(ReadBufferSize);
        var chars = ArrayPool<char>.Shared.Rent(ReadBufferSize + 4);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await stream.ReadAsync(bytes.AsMemory(0, ReadBufferSize), outputOver);
                }
                catch (Exception exception) when (exception is IOException or OperationCanceledException)
                {
                    read = 0;
                }

                if (read == 0)
                {
                    var tail = decoder.GetChars(bytes, 0, 0, chars, 0, flush: true);
                    if (tail > 0)
                    {
                        await emit(new string(chars, 0, tail));
                    }

                    return;
                }

                Touch();
                var allowed = budget.Take(read);
                var count = decoder.GetChars(bytes, 0, allowed, chars, 0, flush: allowed < read);
                if (count > 0)
                {
                    await emit(new string(chars, 0, count));
                }

                if (allowed < read)
                {
                    var message = $"output limit reached: more than {budget.Limit} bytes on one stream{budget.WindowText}";
                    await EmitAsync(new RunNotice(message), CancellationToken.None);
                    process.Kill(Verdict.OutputLimit, message);
                    await DrainAsync(stream, bytes, outputOver);
                    return;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    private Task PumpAsync(ISandboxProcess process, Stream stream, OutputBudget budget, Action<string> append, CancellationToken outputOver) =>
        PumpAsync(process, stream, budget, text =>
        {
            append(text);
            return ValueTask.CompletedTask;
        }, outputOver);

    /// <summary>Reads and discards what is left so the writer is not blocked while it is being killed.</summary>
    private static async Task DrainAsync(Stream stream, byte[] buffer, CancellationToken outputOver)
    {
        try
        {
            while (await stream.ReadAsync(buffer, outputOver) > 0)
            {
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException)
        {
        }
    }

    private async Task FeedInputAsync(Stream stdin, CancellationToken runOver)
    {
        try
        {
            await foreach (var text in _input.Reader.ReadAllAsync(runOver))
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                Interlocked.Add(ref _pendingInputBytes, -bytes.Length);

                // Wait until the echo of this text is out (see _inputOrder).
                await _inputOrder.WaitAsync(runOver);
                _inputOrder.Release();
                await stdin.WriteAsync(bytes, runOver);
                await stdin.FlushAsync(runOver);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The program closed its stdin or ended: input it never read is dropped.
            return;
        }

        try
        {
            stdin.Close();
        }
        catch (IOException)
        {
        }
    }

    private async Task WatchIdleAsync(ISandboxProcess process, TimeSpan idleTimeout, CancellationToken runOver)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(idleTimeout.TotalMilliseconds / 10, 50, 1000));
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(runOver))
            {
                if (_time.GetElapsedTime(Interlocked.Read(ref _lastActivity)) >= idleTimeout)
                {
                    var message = $"idle for {idleTimeout.TotalSeconds:0} s with no input or output";
                    await EmitAsync(new RunNotice(message), CancellationToken.None);
                    process.Kill(Verdict.Killed, message);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Touch() => Interlocked.Exchange(ref _lastActivity, _time.GetTimestamp());

    private async ValueTask EmitAsync(RunEvent runEvent, CancellationToken cancellationToken)
    {
        var stamped = runEvent with { Elapsed = _time.GetElapsedTime(_startedAt) };
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abandoned.Token);
        try
        {
            await _events.Writer.WriteAsync(stamped, linked.Token);
        }
        catch (OperationCanceledException) when (_abandoned.IsCancellationRequested)
        {
            // Nobody reads any more: the event is dropped so the run can finish and clean up.
        }
        catch (ChannelClosedException)
        {
        }
    }

    /// <summary>Bytes a stream may still write; refills every window when one is set.</summary>
    private sealed class OutputBudget(long limit, TimeSpan? window, TimeProvider time)
    {
        private readonly Lock _lock = new();
        private long _used;
        private long _windowStart = time.GetTimestamp();

        public long Limit => limit;

        public string WindowText => window is { } w ? $" per {w.TotalSeconds:0} s" : string.Empty;

        public int Take(int requested)
        {
            lock (_lock)
            {
                if (window is { } w && time.GetElapsedTime(_windowStart) >= w)
                {
                    _windowStart = time.GetTimestamp();
                    _used = 0;
                }

                var allowed = (int)Math.Min(requested, Math.Max(0, limit - _used));
                _used += requested;
                return allowed;
            }
        }
    }
}
