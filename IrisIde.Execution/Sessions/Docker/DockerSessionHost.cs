using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions.Remote;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// <c>Iris:Sessions:Host=Docker</c>: every session on a runner container of its own, from the pool when one
/// waits, relayed through a <see cref="RunnerProtocolClient"/> over the runner's unix socket. The container
/// is removed when the session ends, whichever side ends it: the client (dispose), the runner (its
/// <c>exit</c>), or the container dying (the connection breaks and the run ends as <c>internal_error</c>).
/// </summary>
internal sealed class DockerSessionHost(
    DockerRunnerPool pool,
    LanguageCatalog catalog,
    RunnerProtocolClientOptions clientOptions,
    ILoggerFactory loggerFactory) : ISessionHost
{
    public const string HostName = "docker";

    private static readonly TimeSpan LanguagesKeptFor = TimeSpan.FromMinutes(5);

    private readonly ILogger _logger = loggerFactory.CreateLogger<DockerSessionHost>();
    private (IReadOnlyList<LanguageStatus> Languages, DateTimeOffset At)? _languages;

    public string Name => HostName;

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
            DockerSessionLog.SessionStarted(_logger, client.Id, runner.RunnerId);
            return new DockerRunnerSession(client, runner, pool);
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

/// <summary>A session on a runner container: the container goes when the session ends, once.</summary>
internal sealed class DockerRunnerSession : DelegatingRunSession
{
    private readonly DockerRunner _runner;
    private readonly DockerRunnerPool _pool;
    private readonly Lazy<Task> _release;

    public DockerRunnerSession(IRunSession inner, DockerRunner runner, DockerRunnerPool pool)
        : base(inner)
    {
        _runner = runner;
        _pool = pool;
        _release = new Lazy<Task>(() => _pool.ReleaseAsync(_runner));
        // The runner's side may end it first (the program exits, the container dies): remove the container then.
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
