using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions.Remote;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Runners;

/// <summary>
/// Every session on a runner of its own (a container, a pod), from the pool when one waits, relayed through a
/// <see cref="RunnerProtocolClient"/>. The runner is removed when the session ends, whichever side ends it: the
/// client (dispose), the runner (its <c>exit</c>), or the runner dying (the connection breaks and the run ends as
/// <c>internal_error</c>).
/// </summary>
internal class RunnerSessionHost<TRunner>(
    string name,
    RunnerPool<TRunner> pool,
    LanguageCatalog catalog,
    RunnerProtocolClientOptions clientOptions,
    ILoggerFactory loggerFactory) : ISessionHost
    where TRunner : RemoteRunner
{
    private static readonly TimeSpan LanguagesKeptFor = TimeSpan.FromMinutes(5);

    private readonly ILogger _logger = loggerFactory.CreateLogger<RunnerSessionHost<TRunner>>();
    private (IReadOnlyList<LanguageStatus> Languages, DateTimeOffset At)? _languages;

    public string Name => name;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(owner);

        // The plainest mistakes cost no runner; the runner checks the rest (as its /ws does) and refuses with the same errors.
        if (!catalog.TryResolve(request.Language, out _))
        {
            throw new RunValidationException(RunRequestError.UnknownLanguage, $"unsupported language '{(request.Language is { Length: > 40 } l ? l[..40] : request.Language)}' (supported: {string.Join(", ", catalog.All.Select(x => x.Id))})");
        }

        if (request.Files.Count == 0)
        {
            throw new RunValidationException(RunRequestError.NoSource, "no source code was sent");
        }

        var runner = await pool.TakeAsync(owner.Key, cancellationToken);
        try
        {
            var client = await RunnerProtocolClient.ConnectAsync(
                runner.ProtocolUri, runner.Invoker, request with { Owner = owner.UserId }, catalog, clientOptions, _logger, cancellationToken);
            RunnerSessionLog.SessionStarted(_logger, client.Id, name, runner.RunnerId);
            return new RunnerSession<TRunner>(client, runner, pool);
        }
        catch
        {
            await pool.ReleaseAsync(runner);
            throw;
        }
    }

    /// <summary>What the runner image offers, asked of a waiting runner (which stays waiting) and kept for a few minutes.</summary>
    public async Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken)
    {
        if (_languages is { } known && DateTimeOffset.UtcNow - known.At < LanguagesKeptFor)
        {
            return known.Languages;
        }

        var asked = await pool.WithWaitingRunnerAsync(async runner =>
        {
            using var http = runner.CreateClient(TimeSpan.FromSeconds(10));
            var remote = new RemoteRunnerSessionHost(runner.BaseAddress, http, catalog, loggerFactory);
            return await remote.GetLanguagesAsync(cancellationToken);
        });
        if (asked is not null && asked.Any(l => l.IsAvailable))
        {
            _languages = (asked, DateTimeOffset.UtcNow);
            return asked;
        }

        if (_languages is { } stale)
        {
            return stale.Languages;
        }

        // No runner waits yet (the pool is filling, or its size is 0): the image is built from the same
        // catalogue, so offer it all; a language the image lacks then fails its run with the runner's reason.
        return asked ?? [.. catalog.All.Select(l => new LanguageStatus(l, true, null, null))];
    }
}

/// <summary>A session on a runner of its own: the runner goes when the session ends, once.</summary>
internal sealed class RunnerSession<TRunner> : DelegatingRunSession
    where TRunner : RemoteRunner
{
    private readonly Lazy<Task> _release;

    public RunnerSession(IRunSession inner, TRunner runner, RunnerPool<TRunner> pool)
        : base(inner)
    {
        _release = new Lazy<Task>(() => pool.ReleaseAsync(runner));
        // The runner's side may end it first (the program exits, the runner dies): remove it then.
        _ = inner.Completion.ContinueWith(_ => _release.Value, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();
    }

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await base.DisposeAsync();
        }
        finally
        {
            await _release.Value;
        }
    }
}
