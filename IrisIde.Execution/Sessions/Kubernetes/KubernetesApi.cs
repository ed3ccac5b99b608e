using System.Net;
using System.Net.Sockets;
using IrisIde.Execution.Sessions.Runners;
using k8s;
using k8s.Autorest;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// The Kubernetes API client of the session host: configured once (a kubeconfig, else the pod's service account),
/// every call bounded by <see cref="KubernetesApiOptions.RequestTimeoutSeconds"/>, every failure turned into a
/// <see cref="KubernetesUnavailableException"/> that says what went wrong for an operator.
/// </summary>
internal sealed class KubernetesApi : IDisposable
{
    private readonly KubernetesApiOptions _options;
    private readonly Lazy<(IKubernetes Client, string Namespace, string Endpoint)> _client;
    private readonly string? _namespace;
    private k8s.ClientSets.PodClient? _pods;

    public KubernetesApi(IOptions<KubernetesApiOptions> api, IOptions<KubernetesRunnerOptions> runners)
    {
        _options = api.Value;
        _namespace = runners.Value.Namespace is { Length: > 0 } configured ? configured : null;
        _client = new(() => Connect(_options, _namespace));
    }

    public IKubernetes Client => _client.Value.Client;

    /// <summary>The typed pod client (its watch is an async stream of events).</summary>
    public k8s.ClientSets.PodClient Pods => _pods ??= new k8s.ClientSets.ClientSet((k8s.Kubernetes)Client).CoreV1.Pod;

    /// <summary>The namespace runner pods live in.</summary>
    public string Namespace => _namespace ?? _client.Value.Namespace;

    /// <summary>The API server's address, for messages.</summary>
    public string Endpoint => _client.Value.Endpoint;

    /// <summary>Calls the API server, bounded by the request timeout; failures become <see cref="KubernetesUnavailableException"/>.</summary>
    public async Task<T> CallAsync<T>(string what, Func<IKubernetes, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var client = Client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(_options.RequestTimeoutSeconds));
        try
        {
            return await call(client, timeout.Token);
        }
        catch (Exception e) when (Translate(what, e, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>The failure <paramref name="e"/> stands for, or null when it is the caller's cancellation (or no API failure).</summary>
    public KubernetesUnavailableException? Translate(string what, Exception e, CancellationToken callerToken)
    {
        ArgumentNullException.ThrowIfNull(e);
        switch (e)
        {
            case KubernetesUnavailableException:
                return null;
            case OperationCanceledException when callerToken.IsCancellationRequested:
                return null;
            case HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound } http:
                return new(KubernetesFailure.NotFound, $"Kubernetes: {what}: not found ({Trim(http.Response.Content)})", e);
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Conflict } http:
                return new(KubernetesFailure.Conflict, $"Kubernetes: {what}: conflict ({Trim(http.Response.Content)})", e);
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden } http:
                return new(KubernetesFailure.Refused, $"Kubernetes: {what}: refused ({(int)http.Response.StatusCode}); the web app's service account needs pods create/get/list/watch/delete in namespace '{Namespace}' (deploy/kubernetes/rbac.yaml): {Trim(http.Response.Content)}", e);
            case HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } http:
                return new(KubernetesFailure.Expired, $"Kubernetes: {what}: the resource version is too old ({Trim(http.Response.Content)})", e);
            case HttpOperationException http:
                return new(KubernetesFailure.Refused, $"Kubernetes: {what} failed ({(int)http.Response.StatusCode}): {Trim(http.Response.Content)}", e);
            case KubernetesException { Status.Code: 410 } status:
                return new(KubernetesFailure.Expired, $"Kubernetes: {what}: the resource version is too old ({status.Status.Message})", e);
            case KubernetesException status:
                return new(KubernetesFailure.Refused, $"Kubernetes: {what} failed: {status.Status?.Message ?? status.Message}", e);
            case OperationCanceledException:
                return new(KubernetesFailure.Unreachable, $"Kubernetes: the API server at {Endpoint} did not answer within {_options.RequestTimeoutSeconds:0.#} s ({what})", e);
            case HttpRequestException or SocketException or IOException:
                return new(KubernetesFailure.Unreachable, $"Kubernetes: the API server at {Endpoint} does not answer ({what}): {e.Message}", e);
            default:
                return null;
        }
    }

    public void Dispose()
    {
        if (_client.IsValueCreated)
        {
            _client.Value.Client.Dispose();
        }
    }

    private static (IKubernetes, string, string) Connect(KubernetesApiOptions options, string? configuredNamespace)
    {
        KubernetesClientConfiguration config;
        try
        {
            config = options.Kubeconfig is { Length: > 0 } path
                ? KubernetesClientConfiguration.BuildConfigFromConfigFile(path, currentContext: options.Context is { Length: > 0 } context ? context : null)
                // A kubeconfig ($KUBECONFIG, ~/.kube/config) when there is one, else the pod's service account.
                : KubernetesClientConfiguration.BuildDefaultConfig();
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or k8s.Exceptions.KubernetesClientException or IOException or UnauthorizedAccessException or InvalidOperationException or ArgumentException or YamlDotNet.Core.YamlException)
        {
            throw new KubernetesUnavailableException(
                KubernetesFailure.Unreachable,
                $"Kubernetes: no usable API server configuration ({e.Message}); set Iris:Kubernetes:Kubeconfig, or run in a pod with a service account",
                e);
        }

        var ns = configuredNamespace is { Length: > 0 } configured ? configured
            : config.Namespace is { Length: > 0 } fromConfig ? fromConfig
            : "default";
        return (new k8s.Kubernetes(config), ns, config.Host);
    }

    private static string Trim(string? text) => text is null ? string.Empty : text.Length <= 300 ? text.Trim() : text[..300].Trim() + "…";
}

public enum KubernetesFailure
{
    /// <summary>The API server did not answer, or none is configured.</summary>
    Unreachable,

    /// <summary>The API server refused the call (RBAC, validation, quota).</summary>
    Refused,

    NotFound,

    Conflict,

    /// <summary>A watch's resource version is too old (410 Gone): list again.</summary>
    Expired,

    /// <summary>The runner pod template cannot be read or is not a pod with a container.</summary>
    TemplateInvalid,

    /// <summary>The runner image cannot be pulled.</summary>
    ImagePull,

    /// <summary>No node can take the runner pod.</summary>
    Unschedulable,

    /// <summary>The runner pod did not get ready in time.</summary>
    NotReady,

    /// <summary>The runner pod stopped, or could not start its container.</summary>
    RunnerFailed,

    /// <summary>The runner pod was deleted (by someone else) before or while it served.</summary>
    Deleted,
}

/// <summary>The Kubernetes API could not do what was asked, or a runner pod could not be made ready; the message says why.</summary>
public sealed class KubernetesUnavailableException(KubernetesFailure kind, string message, Exception? innerException = null) : RunnerBackendException(message, innerException)
{
    public KubernetesFailure Kind { get; } = kind;
}
