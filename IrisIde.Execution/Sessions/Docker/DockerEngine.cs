using System.Net;
using System.Net.Sockets;
using Docker.DotNet;
using Docker.DotNet.Models;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// The Docker engine client shared by the Docker backends, with the engine's failures turned into
/// <see cref="DockerUnavailableException"/>s that say what is wrong in the words an operator needs:
/// the daemon does not answer, the image is missing, the runtime is unknown.
/// </summary>
public sealed class DockerEngine : IDisposable
{
    private readonly DockerClient _client;

    public DockerEngine(IOptions<DockerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.Value;
        Endpoint = Options.ResolveEndpoint();
        _client = new DockerClientBuilder()
            .WithEndpoint(Endpoint)
            .WithApiVersion(System.Version.Parse(Options.ApiVersion))
            .WithTimeout(TimeSpan.FromSeconds(Options.RequestTimeoutSeconds))
            .Build();
    }

    public DockerOptions Options { get; }

    public Uri Endpoint { get; }

    /// <summary>The raw client, for calls made through <see cref="CallAsync{T}"/>.</summary>
    public IDockerClient Client => _client;

    /// <summary>
    /// Makes one call to the engine; a failure becomes a <see cref="DockerUnavailableException"/> naming
    /// <paramref name="what"/> and the cause. <paramref name="image"/> names the image for a "no such image".
    /// </summary>
    public async Task<T> CallAsync<T>(string what, Func<IDockerClient, CancellationToken, Task<T>> call, CancellationToken cancellationToken, string? image = null)
    {
        ArgumentNullException.ThrowIfNull(call);
        try
        {
            return await call(_client, cancellationToken);
        }
        catch (Exception e) when (Translate(e, what, image) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc cref="CallAsync{T}"/>
    public Task CallAsync(string what, Func<IDockerClient, CancellationToken, Task> call, CancellationToken cancellationToken, string? image = null) =>
        CallAsync<bool>(what, async (client, token) =>
        {
            await call(client, token);
            return true;
        }, cancellationToken, image);

    /// <summary>Removes a container and its anonymous volumes, stopped or not; one that is gone already is fine.</summary>
    public async Task RemoveContainerAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("remove container", (client, token) => client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, token), cancellationToken);
        }
        catch (DockerUnavailableException e) when (e.Kind is DockerFailure.NotFound || e.Message.Contains("already in progress", StringComparison.Ordinal))
        {
        }
    }

    /// <summary>
    /// The last lines a container wrote (stdout and stderr, at most <paramref name="maxChars"/> characters), for an
    /// error message about a container that stopped; empty when the engine cannot give them.
    /// </summary>
    public async Task<string> LogTailAsync(string id, int lines, int maxChars, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await _client.Containers.GetContainerLogsAsync(
                id,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true, Tail = lines.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                cancellationToken);
            var (stdout, stderr) = await stream.ReadOutputToEndAsync(cancellationToken);
            var text = (stdout + stderr).Trim();
            return text.Length > maxChars ? text[^maxChars..] : text;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
            return string.Empty;
        }
    }

    /// <summary>
    /// Whether the engine's event log holds an <c>oom</c> event of the container since <paramref name="since"/>,
    /// waiting up to <paramref name="lateBy"/> (rounded up to whole seconds) for one still on its way. Docker sets
    /// <c>State.OOMKilled</c> only when the kernel's OOM event reaches it before the container's exit; one that comes
    /// second is logged all the same. False when the engine cannot say.
    /// </summary>
    public async Task<bool> ReportedOutOfMemoryAsync(string id, DateTimeOffset since, TimeSpan lateBy, CancellationToken cancellationToken)
    {
        var seen = new EventSeen();
        var until = DateTimeOffset.UtcNow + lateBy;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(lateBy + TimeSpan.FromSeconds(5));
        try
        {
            await _client.System.MonitorEventsAsync(
                new ContainerEventsParameters
                {
                    Since = since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Until = (until.ToUnixTimeSeconds() + 1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["type"] = new Dictionary<string, bool> { ["container"] = true },
                        ["container"] = new Dictionary<string, bool> { [id] = true },
                        ["event"] = new Dictionary<string, bool> { ["oom"] = true },
                    },
                },
                seen,
                timeout.Token);
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
        {
        }

        return seen.Any;
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Notes an event as it is read (<see cref="Progress{T}"/> would report it later, on the thread pool).</summary>
    private sealed class EventSeen : IProgress<Message>
    {
        private volatile bool _any;

        public bool Any => _any;

        public void Report(Message value) => _any = true;
    }

    private DockerUnavailableException? Translate(Exception exception, string what, string? image)
    {
        switch (exception)
        {
            case DockerUnavailableException:
                return null;
            case DockerImageNotFoundException:
                return new DockerUnavailableException(DockerFailure.ImageMissing, $"Docker: the image {image ?? "asked for"} is not on the engine at {Endpoint} (build it with './iris images', or pull it)", exception);
            case DockerContainerNotFoundException:
                return new DockerUnavailableException(DockerFailure.NotFound, $"Docker: {what}: no such container", exception);
            case DockerApiException api when api.ResponseBody is { } body && body.Contains("No such image", StringComparison.OrdinalIgnoreCase):
                return new DockerUnavailableException(DockerFailure.ImageMissing, $"Docker: the image {image ?? "asked for"} is not on the engine at {Endpoint} (build it with './iris images', or pull it)", exception);
            // "Unknown runtime specified X" (create), "unknown or invalid runtime name: X" (start); an "OCI runtime create
            // failed ...: unknown" is the runtime failing, not a missing one.
            case DockerApiException api when api.ResponseBody is { } body && (body.Contains("Unknown runtime specified", StringComparison.OrdinalIgnoreCase) || body.Contains("invalid runtime name", StringComparison.OrdinalIgnoreCase)):
                return new DockerUnavailableException(DockerFailure.RuntimeUnknown, $"Docker: the runtime '{Options.Runtime}' (Iris:Docker:Runtime) is not registered with the engine at {Endpoint}: {Trim(body)}", exception);
            case DockerApiException { StatusCode: HttpStatusCode.NotFound } api:
                return new DockerUnavailableException(DockerFailure.NotFound, $"Docker: {what}: {Trim(api.ResponseBody)}", exception);
            case DockerApiException api:
                return new DockerUnavailableException(DockerFailure.Refused, $"Docker: {what} failed ({(int)api.StatusCode}): {Trim(api.ResponseBody)}", exception);
            case HttpRequestException or SocketException or IOException or TimeoutException:
                return new DockerUnavailableException(DockerFailure.Unreachable, $"Docker: the engine at {Endpoint} does not answer ({what}): {exception.Message}", exception);
            case OperationCanceledException when exception.InnerException is TimeoutException:
                return new DockerUnavailableException(DockerFailure.Unreachable, $"Docker: the engine at {Endpoint} did not answer within {Options.RequestTimeoutSeconds:0.#} s ({what})", exception);
            default:
                return null;
        }
    }

    private static string Trim(string? body)
    {
        var text = (body ?? string.Empty).Trim();
        // The engine answers {"message":"..."}; the message is what matters.
        const string Prefix = "{\"message\":\"";
        if (text.StartsWith(Prefix, StringComparison.Ordinal) && text.EndsWith("\"}", StringComparison.Ordinal))
        {
            text = text[Prefix.Length..^2];
        }

        return text.Length > 500 ? text[..500] : text;
    }
}

/// <summary>What went wrong with the engine.</summary>
public enum DockerFailure
{
    /// <summary>The daemon does not answer at the configured address.</summary>
    Unreachable,

    /// <summary>The image is not on the engine (nothing is pulled).</summary>
    ImageMissing,

    /// <summary>The configured OCI runtime is not registered with the daemon.</summary>
    RuntimeUnknown,

    /// <summary>The container (or other object) does not exist.</summary>
    NotFound,

    /// <summary>The engine refused the call for another reason.</summary>
    Refused,

    /// <summary>A runner did not become ready, or died while starting.</summary>
    RunnerFailed,
}

/// <summary>The Docker engine could not do what was asked; the message says why, for an operator.</summary>
public sealed class DockerUnavailableException(DockerFailure kind, string message, Exception? innerException = null) : Runners.RunnerBackendException(message, innerException)
{
    public DockerFailure Kind { get; } = kind;
}
