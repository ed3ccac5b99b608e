using System.Runtime.CompilerServices;
using System.Text;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Runs;

/// <summary>
/// The one run pipeline every caller uses: validate → fresh workspace → compile (own limits, inside the
/// sandbox) → run with streamed stdin/stdout/stderr → result, as a stream of <see cref="RunEvent"/>s.
/// </summary>
public sealed class RunPipeline(
    LanguageAvailability languages,
    ISandbox sandbox,
    WorkspaceArea workspaces,
    IOptions<ExecutionOptions> options,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<RunPipeline>();

    public string SandboxName => sandbox.Name;

    /// <summary>
    /// Validates <paramref name="request"/> and starts it. Throws <see cref="RunValidationException"/> for a
    /// request that cannot run; everything after that is reported through the session's events.
    /// </summary>
    public async Task<RunSession> StartAsync(RunRequest request, CancellationToken cancellationToken)
    {
        return Start(await PlanAsync(request, cancellationToken));
    }

    /// <summary>
    /// Checks <paramref name="request"/> with the same rules as <see cref="StartAsync"/> without running it,
    /// so a queue can refuse a bad job before it is stored. Returns the run limits it would get (clamped).
    /// </summary>
    public async Task<StageLimits> ValidateAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(request, cancellationToken);
        return plan.RunLimits;
    }

    /// <summary>
    /// <see cref="ValidateAsync(RunRequest, CancellationToken)"/> for a request that runs once per entry
    /// of <paramref name="stdins"/> (<see cref="RunEachAsync"/>): every stdin obeys the rules of a run's.
    /// </summary>
    public async Task<StageLimits> ValidateAsync(RunRequest request, IReadOnlyList<string?> stdins, CancellationToken cancellationToken)
    {
        var plan = await PlanAsync(request, cancellationToken);
        foreach (var stdin in stdins)
        {
            ValidateStdin(stdin, options.Value);
        }

        return plan.RunLimits;
    }

    /// <summary>Runs a batch request to the end and collects its events.</summary>
    public async Task<IReadOnlyList<RunEvent>> RunToEndAsync(RunRequest request, CancellationToken cancellationToken) =>
        await RunToEndAsync(await PlanAsync(request, cancellationToken), cancellationToken);

    /// <summary>
    /// Compiles a batch request once, then runs the program once per entry of <paramref name="stdins"/>,
    /// yielding each run's events (in the order of <paramref name="stdins"/>) as soon as that run is over.
    /// Every run is a run of its own: a fresh session id, fresh run limits, its own stdin, its own
    /// sandbox and cgroup. Only the first run's events hold <see cref="CompileStarted"/> and
    /// <see cref="CompileFinished"/>; when the compile does not succeed that first run is the only one.
    /// </summary>
    /// <remarks>
    /// Isolation: the folder as the compiler left it is copied aside once, and each run works in a fresh
    /// copy of it, so nothing a run writes is seen by the next (and <c>/tmp</c> is private to each run
    /// anyway). Interpreted languages have nothing to compile: each run gets its sources written afresh.
    /// Stopping the enumeration early stops nothing in flight (a run is awaited to its end before it is
    /// yielded) and deletes the compiled copy.
    /// </remarks>
    public async IAsyncEnumerable<IReadOnlyList<RunEvent>> RunEachAsync(
        RunRequest request, IReadOnlyList<string?> stdins, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (request.Mode != RunMode.Batch)
        {
            throw new ArgumentException("Only batch requests run once per stdin.", nameof(request));
        }

        var plan = await PlanAsync(request with { Stdin = null }, cancellationToken);
        foreach (var stdin in stdins)
        {
            ValidateStdin(stdin, options.Value);
        }

        await using var compiled = new CompiledProgram(_logger);
        for (var i = 0; i < stdins.Count; i++)
        {
            var runPlan = plan with { Request = plan.Request with { Stdin = stdins[i] }, Compiled = compiled };
            yield return await RunToEndAsync(runPlan, cancellationToken);
            if (plan.CompileCommand is not null && compiled.Path is null)
            {
                // The compile failed or was stopped: there is no program to run again.
                yield break;
            }
        }
    }

    private async Task<IReadOnlyList<RunEvent>> RunToEndAsync(RunPlan plan, CancellationToken cancellationToken)
    {
        await using var session = Start(plan);
        var events = new List<RunEvent>();
        await foreach (var e in session.Events.ReadAllAsync(cancellationToken))
        {
            events.Add(e);
        }

        return events;
    }

    private RunSession Start(RunPlan plan)
    {
        var session = new RunSession(plan, sandbox, timeProvider, loggerFactory.CreateLogger<RunSession>());
        RunPipelineLog.RunStarted(_logger, session.Id, plan.Language.Id, plan.Request.Mode, sandbox.Name);
        session.Start();
        return session;
    }

    private static void ValidateStdin(string? stdin, ExecutionOptions limits)
    {
        if (stdin is not null && Encoding.UTF8.GetByteCount(stdin) > limits.MaxStdinBytes)
        {
            throw new RunValidationException(RunRequestError.StdinTooLarge, $"stdin is larger than {limits.MaxStdinBytes} bytes");
        }
    }

    private async Task<RunPlan> PlanAsync(RunRequest request, CancellationToken cancellationToken)
    {
        var limits = options.Value;
        if (!languages.Catalog.TryResolve(request.Language, out var language))
        {
            var known = string.Join(", ", languages.Catalog.All.Select(l => l.Id));
            throw new RunValidationException(RunRequestError.UnknownLanguage, $"unsupported language '{Truncate(request.Language, 40)}' (supported: {known})");
        }

        var status = await languages.GetAsync(language, cancellationToken);
        if (!status.IsAvailable)
        {
            throw new RunValidationException(RunRequestError.LanguageUnavailable, $"language '{language.Id}' is not available on this server: {status.Reason}");
        }

        if (request.Files.Count == 0)
        {
            throw new RunValidationException(RunRequestError.NoSource, "no source code was sent");
        }

        if (request.Files.Count > limits.MaxFiles)
        {
            throw new RunValidationException(RunRequestError.TooManyFiles, $"too many files: {request.Files.Count} (at most {limits.MaxFiles})");
        }

        var files = new List<SourceFile>(request.Files.Count);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in request.Files)
        {
            var name = string.IsNullOrEmpty(file.Name) && files.Count == 0 ? language.FileName : file.Name;
            if (SourceFileName.Validate(name) is { } problem)
            {
                throw new RunValidationException(RunRequestError.InvalidFileName, $"invalid file name: {problem}");
            }

            if (!names.Add(name))
            {
                throw new RunValidationException(RunRequestError.DuplicateFileName, $"file '{name}' is sent twice");
            }

            var size = Encoding.UTF8.GetByteCount(file.Content ?? string.Empty);
            if (size > limits.MaxSourceBytesPerFile)
            {
                throw new RunValidationException(RunRequestError.SourceTooLarge, $"source file '{name}' is {size} bytes; the limit is {limits.MaxSourceBytesPerFile} bytes");
            }

            files.Add(new SourceFile(name, file.Content ?? string.Empty));
        }

        ValidateStdin(request.Stdin, limits);
        ValidateCustomCommand(request.CustomCompileCommand, "compile");
        ValidateCustomCommand(request.CustomRunCommand, "run");
        var runLimits = ResolveRunLimits(request, limits);
        return new RunPlan(
            request,
            language,
            files,
            limits.Compile,
            runLimits,
            request.Mode == RunMode.Interactive ? TimeSpan.FromSeconds(limits.IdleTimeoutSeconds) : null,
            workspaces);
    }

    /// <summary>
    /// The longest custom compile or run command, in UTF-8 bytes: far above any real command line, and
    /// well inside what the sandbox's init accepts for folder and argv together (64 KiB).
    /// </summary>
    public const int MaxCustomCommandBytes = 16 * 1024;

    private static void ValidateCustomCommand(string? command, string stage)
    {
        if (command is null)
        {
            return;
        }

        if (command.Contains('\0', StringComparison.Ordinal))
        {
            throw new RunValidationException(RunRequestError.InvalidCommand, $"the custom {stage} command contains a NUL character");
        }

        var size = Encoding.UTF8.GetByteCount(command);
        if (size > MaxCustomCommandBytes)
        {
            throw new RunValidationException(RunRequestError.CommandTooLarge, $"the custom {stage} command is {size} bytes; the limit is {MaxCustomCommandBytes} bytes");
        }
    }

    /// <summary>The smallest memory limit a request may ask for: 16 MiB (a run below it cannot even start its interpreter).</summary>
    public const long MinimumMemoryBytes = 16 * 1024 * 1024;

    /// <summary>The smallest wall or CPU time a request may ask for.</summary>
    public const double MinimumSeconds = 0.1;

    internal static StageLimits ResolveRunLimits(RunRequest request, ExecutionOptions options)
    {
        var stage = (request.Mode == RunMode.Interactive ? options.Interactive : options.Batch).Clone();
        if (request.Limits is not { } overrides)
        {
            return stage;
        }

        var max = options.Maximum;
        stage.WallSeconds = Clamp(overrides.WallSeconds, stage.WallSeconds, MinimumSeconds, max.WallSeconds, "wall time", "s");
        stage.CpuSeconds = Clamp(overrides.CpuSeconds, stage.CpuSeconds, MinimumSeconds, max.CpuSeconds, "CPU time", "s");
        stage.MemoryBytes = (long)Clamp(overrides.MemoryBytes, stage.MemoryBytes, MinimumMemoryBytes, max.MemoryBytes, "memory", "bytes");
        stage.OutputBytes = (long)Clamp(overrides.OutputBytes, stage.OutputBytes, 1, max.OutputBytes, "output", "bytes");
        return stage;

        static double Clamp(double? requested, double fallback, double minimum, double maximum, string what, string unit)
        {
            if (requested is not { } value)
            {
                return fallback;
            }

            // 0 or negative never means "unlimited": it is a mistake and gets a clear error. Below the minimum
            // not even an interpreter starts, which would read as an internal error rather than the client's.
            if (double.IsNaN(value) || value <= 0)
            {
                throw new RunValidationException(RunRequestError.InvalidLimits, $"{what} limit must be positive");
            }

            if (value < minimum)
            {
                throw new RunValidationException(RunRequestError.InvalidLimits, $"{what} limit must be at least {minimum.ToString(System.Globalization.CultureInfo.InvariantCulture)} {unit}");
            }

            return Math.Min(value, maximum);
        }
    }

    private static string Truncate(string? value, int length) =>
        value is null ? string.Empty : value.Length <= length ? value : value[..length] + "…";
}

/// <summary>A validated request with everything resolved.</summary>
internal sealed record RunPlan(
    RunRequest Request,
    LanguageDefinition Language,
    IReadOnlyList<SourceFile> Files,
    StageLimits CompileLimits,
    StageLimits RunLimits,
    TimeSpan? IdleTimeout,
    WorkspaceArea Workspaces)
{
    /// <summary>
    /// Set when the program is compiled once for several runs: the first run compiles and captures its
    /// workspace here; later runs start from a copy of it and skip the compile.
    /// </summary>
    public CompiledProgram? Compiled { get; init; }

    public string MainFile => Files[0].Name;

    public IReadOnlyList<string>? CompileCommand =>
        Request.CustomCompileCommand is { Length: > 0 } custom ? ["/bin/sh", "-c", custom]
        : Language.Compile is { Count: > 0 } compile ? Expand(compile)
        : null;

    public IReadOnlyList<string> RunCommand =>
        Request.CustomRunCommand is { Length: > 0 } custom ? ["/bin/sh", "-c", custom] : Expand(Language.Run);

    /// <summary>The files <c>{sources}</c> stands for: the main file, then the others with a source extension, as sent.</summary>
    public IEnumerable<string> SourceFiles =>
        Files.Take(1).Concat(Files.Skip(1).Where(f => Language.SourceExtensions.Contains(Path.GetExtension(f.Name), StringComparer.Ordinal))).Select(f => f.Name);

    private string[] Expand(IReadOnlyList<string> template)
    {
        // File names are validated (SourceFileName: no leading '-', no separators), so each is safe as
        // an argument of its own; {sources} becomes several arguments, never one joined string.
        var stem = Path.GetFileNameWithoutExtension(MainFile);
        return [.. template.SelectMany(a => a == "{sources}"
            ? SourceFiles
            : [a.Replace("{file}", MainFile, StringComparison.Ordinal).Replace("{stem}", stem, StringComparison.Ordinal)])];
    }
}

/// <summary>
/// The workspace of a successful compile, copied aside so each later run starts from a fresh copy of it.
/// Owned by <see cref="RunPipeline.RunEachAsync"/>; used by one run at a time.
/// </summary>
internal sealed class CompiledProgram(ILogger logger) : IAsyncDisposable
{
    private Workspace? _copy;

    /// <summary>The host folder holding the compiled program; null until a compile succeeded.</summary>
    public string? Path => _copy?.Path;

    /// <summary>Copies <paramref name="workspacePath"/> as the compiler left it, before the program touches it.</summary>
    public void Capture(string workspacePath, WorkspaceArea workspaces)
    {
        if (_copy is not null)
        {
            throw new InvalidOperationException("The program is compiled already.");
        }

        _copy = workspaces.CreateCopyOf(workspacePath);
    }

    public async ValueTask DisposeAsync()
    {
        if (_copy is null)
        {
            return;
        }

        try
        {
            await _copy.DisposeAsync();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            RunPipelineLog.CompiledProgramNotDeleted(logger, _copy.Path, ex);
        }

        _copy = null;
    }
}

internal static partial class RunPipelineLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Run {RunId} started: {LanguageId}, {Mode}, sandbox {Sandbox}")]
    public static partial void RunStarted(ILogger logger, Guid runId, string languageId, RunMode mode, string sandbox);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Run {RunId} ended: {Verdict} at {Stage}, exit {ExitCode}, {WallMs} ms wall, {CpuMs} ms CPU, {MemoryBytes} bytes")]
    public static partial void RunEnded(ILogger logger, Guid runId, Verdict verdict, RunStage stage, int? exitCode, long wallMs, long cpuMs, long memoryBytes);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Run {RunId} failed inside the pipeline")]
    public static partial void RunFailed(ILogger logger, Guid runId, Exception exception);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Run {RunId}: workspace {Workspace} could not be removed; the workspace sweep tries again")]
    public static partial void WorkspaceNotDeleted(ILogger logger, Guid runId, string workspace, Exception exception);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "The copy of a compiled program ({Workspace}) could not be removed; the workspace sweep tries again")]
    public static partial void CompiledProgramNotDeleted(ILogger logger, string workspace, Exception exception);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "Run {RunId}: removing its sandbox or workspace after the result failed")]
    public static partial void CleanupFailed(ILogger logger, Guid runId, Exception exception);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Debug, Message = "Run {RunId}: signal {Signal} dropped, over {PerSecond} a second")]
    public static partial void SignalDropped(ILogger logger, Guid runId, int signal, int perSecond);
}
