using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading.Channels;
using IrisIde.Web.Persistence;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Batch;

// Result callbacks (callbackUrl of POST /api/v1/runs), delivered at least until one 2xx and never after it.
// The state lives on the run's row, not in memory: RunStore.StoreResultAsync marks the callback pending in
// the same UPDATE that stores the result, so a run that ended always has its callback on the work list, and
// the dispatcher reads that list whenever it wakes (at start-up, on a completion that made a callback due,
// when a retry is due and every few seconds for completions stored by another process). Each attempt is claimed with a
// compare-and-set on the attempt count before the POST, so two dispatchers on one database never send
// the same attempt. A process that dies between a 2xx and recording it sends once more after a restart;
// that window is the only way a receiver sees a second POST (the Iris-Run-Id header lets it tell).

public static class RunCallbackServiceCollectionExtensions
{
    /// <summary>
    /// <see cref="BatchApiOptions"/> (body limit and callback settings, validated at start-up), the
    /// callback HTTP client and the dispatcher. Call after the persistence, so migrations run first.
    /// </summary>
    public static IServiceCollection AddRunCallbacks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BatchApiOptions>().Bind(configuration.GetSection(BatchApiOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BatchApiOptions>, BatchApiOptionsValidator>();
        services.AddHttpClient(RunCallbackDispatcher.HttpClientName, (provider, client) =>
                client.Timeout = TimeSpan.FromSeconds(provider.GetRequiredService<IOptions<BatchApiOptions>>().Value.CallbackTimeoutSeconds))
            // A redirect could lead off the allow-list; it counts as a failed attempt instead.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false })
            // The factory's own loggers write the full URL, whose query may carry the receiver's secret.
            .RemoveAllLoggers();
        services.AddSingleton<RunCallbackSignal>();
        services.AddHostedService<RunCallbackDispatcher>();
        return services;
    }
}

/// <summary>Which callback URLs a run may ask for: absolute http(s) URLs to a host on the allow-list.</summary>
public static class RunCallbackPolicy
{
    /// <summary>Null when <paramref name="url"/> is acceptable, else why not (safe to show to the client).</summary>
    public static string? Refusal(string url, IReadOnlyCollection<string> allowedHosts)
    {
        if (allowedHosts.Count == 0)
        {
            return "callbacks are not enabled on this server";
        }

        if (url.Length > RunRecord.MaxCallbackUrlLength)
        {
            return $"'callbackUrl' is longer than {RunRecord.MaxCallbackUrlLength} characters";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "'callbackUrl' must be an absolute http or https URL";
        }

        var host = uri.IdnHost.Trim('[', ']');
        return allowedHosts.Any(h => string.Equals(h.Trim().Trim('[', ']'), host, StringComparison.OrdinalIgnoreCase))
            ? null
            : $"callbacks to '{host}' are not allowed";
    }
}

/// <summary>Wakes the dispatcher when a run has ended, so a callback does not wait for the next poll.</summary>
public sealed class RunCallbackSignal
{
    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => _signals.Writer.TryWrite(true);

    /// <summary>Returns on a signal or after <paramref name="timeout"/>; throws only when <paramref name="cancellationToken"/> fires.</summary>
    public async Task WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        using var timeoutSource = new CancellationTokenSource(timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token);
        try
        {
            await _signals.Reader.ReadAsync(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Timed out: time to look again.
        }
    }
}

/// <summary>Delivers due callbacks; see the comment at the top of this file.</summary>
public sealed class RunCallbackDispatcher(
    IServiceScopeFactory scopes,
    IHttpClientFactory httpClients,
    RunCallbackSignal signal,
    IOptionsMonitor<BatchApiOptions> options,
    TimeProvider timeProvider,
    ILogger<RunCallbackDispatcher> logger) : BackgroundService
{
    public const string HttpClientName = "iris-run-callbacks";

    private const int BatchSize = 64;

    private const int ParallelDeliveries = 8;

    // Finds callbacks another process made due (a second web instance storing completions).
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                wait = await DispatchDueAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // The database may be briefly unreachable; the work list is still there next time.
                RunCallbackLog.DispatchFailed(logger, e);
                wait = PollInterval;
            }

            if (wait > TimeSpan.Zero)
            {
                await signal.WaitAsync(wait, timeProvider, stoppingToken);
            }
        }
    }

    /// <summary>Sends every due callback once; returns how long to wait before looking again.</summary>
    private async Task<TimeSpan> DispatchDueAsync(CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue;
        List<PendingCallback> pending;
        await using (var scope = scopes.CreateAsyncScope())
        {
            pending = await scope.ServiceProvider.GetRequiredService<RunStore>().PendingCallbacksAsync(BatchSize, cancellationToken);
        }

        var now = timeProvider.GetUtcNow().UtcDateTime;
        var wait = PollInterval;
        var due = new List<PendingCallback>();
        foreach (var callback in pending)
        {
            // The schedule follows the current settings, so a restart with new settings applies them.
            var dueAt = callback.LastAttemptAtUtc is { } last ? last + settings.RetryDelay(callback.Attempts) : now;
            if (dueAt <= now || callback.Attempts >= settings.CallbackMaxAttempts)
            {
                due.Add(callback);
            }
            else if (dueAt - now < wait)
            {
                wait = dueAt - now;
            }
        }

        await Parallel.ForEachAsync(
            due,
            new ParallelOptions { MaxDegreeOfParallelism = ParallelDeliveries, CancellationToken = cancellationToken },
            (callback, token) => new ValueTask(AttemptAsync(callback, settings, token)));
        return due.Count > 0 && pending.Count == BatchSize ? TimeSpan.Zero : wait;
    }

    private async Task AttemptAsync(PendingCallback callback, BatchApiOptions settings, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<RunStore>();
        if (callback.Attempts >= settings.CallbackMaxAttempts)
        {
            // The last attempt was claimed but its outcome never recorded (or the limit was lowered).
            await store.CallbackFailedAsync(callback.RunId, null, giveUp: true, cancellationToken);
            RunCallbackLog.GaveUp(logger, callback.RunId, callback.Attempts);
            return;
        }

        if (!await store.ClaimCallbackAttemptAsync(callback, timeProvider.GetUtcNow().UtcDateTime, cancellationToken)
            || await store.FindAsync(callback.RunId, cancellationToken) is not { CallbackUrl: { } url } record)
        {
            return;
        }

        var attempt = callback.Attempts + 1;
        var host = new Uri(url).Host;
        var error = await PostAsync(record, url, cancellationToken);

        // The outcome is recorded even when the host is stopping: a 2xx that is not written down would be
        // sent again after the restart.
        if (error is null)
        {
            await store.CallbackDeliveredAsync(record.Id, timeProvider.GetUtcNow().UtcDateTime, CancellationToken.None);
            RunCallbackLog.Delivered(logger, record.Id, host, attempt);
            return;
        }

        var giveUp = attempt >= settings.CallbackMaxAttempts;
        await store.CallbackFailedAsync(record.Id, error, giveUp, CancellationToken.None);
        RunCallbackLog.AttemptFailed(logger, record.Id, host, attempt, settings.CallbackMaxAttempts, error);
        if (giveUp)
        {
            RunCallbackLog.GaveUp(logger, record.Id, attempt);
        }
    }

    /// <summary>POSTs the run as <c>GET /api/v1/runs/{id}</c> shows it; null on a 2xx, else what went wrong.</summary>
    private async Task<string?> PostAsync(RunRecord record, string url, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(BatchApi.ToDto(record, null), BatchJsonContext.Default.RunDto);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        request.Headers.Add("Iris-Run-Id", record.Id.ToString());
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
        }
        catch (HttpRequestException e)
        {
            return e.Message;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "timed out";
        }
    }
}

internal static partial class RunCallbackLog
{
    // Hosts only: the full URL may carry the receiver's secret.
    [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Batch job {JobId}: callback to {Host} delivered (attempt {Attempt})")]
    public static partial void Delivered(ILogger logger, Guid jobId, string host, int attempt);

    [LoggerMessage(EventId = 4111, Level = LogLevel.Warning, Message = "Batch job {JobId}: callback to {Host} failed (attempt {Attempt} of {MaxAttempts}): {Error}")]
    public static partial void AttemptFailed(ILogger logger, Guid jobId, string host, int attempt, int maxAttempts, string error);

    [LoggerMessage(EventId = 4112, Level = LogLevel.Error, Message = "Batch job {JobId}: callback given up after {Attempts} attempt(s)")]
    public static partial void GaveUp(ILogger logger, Guid jobId, int attempts);

    [LoggerMessage(EventId = 4113, Level = LogLevel.Error, Message = "Callback dispatch failed; trying again shortly")]
    public static partial void DispatchFailed(ILogger logger, Exception exception);
}
