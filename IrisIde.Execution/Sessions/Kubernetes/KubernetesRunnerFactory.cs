using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using IrisIde.Execution.Sessions.Runners;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// Makes runner pods from the template: a fresh pod per runner with the labels the reaper reads and an access token
/// of its own, ready when a <b>watch</b> on it (not polling) says so; deletes them. A pod that cannot get ready (the
/// image cannot be pulled, no node takes it, it stops, it is deleted, the time is up) is deleted and the reason
/// reported.
/// </summary>
internal sealed class KubernetesRunnerFactory(
    KubernetesApi api,
    IOptions<KubernetesRunnerOptions> options,
    KubernetesReplica replica,
    ILogger<KubernetesRunnerFactory> logger) : IRunnerFactory<KubernetesRunner>
{
    /// <summary>The runner's access token, as the runner reads it (<c>Iris:Runner:AccessToken</c>).</summary>
    internal const string AccessTokenVariable = "Iris__Runner__AccessToken";

    private static readonly HashSet<string> CannotStart = new(StringComparer.Ordinal)
    {
        "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError", "CreateContainerError", "CrashLoopBackOff", "RunContainerError",
    };

    private readonly KubernetesRunnerOptions _options = options.Value;
    private readonly Lazy<V1Pod> _template = new(() => LoadTemplate(options.Value.PodTemplatePath));

    public async Task<KubernetesRunner> StartAsync(string? owner, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var runnerId = Guid.NewGuid().ToString("N")[..16];
        var accessToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var (pod, port) = PodFor(runnerId, owner, expiresAt, accessToken);
        var name = pod.Metadata.Name;
        var stopwatch = Stopwatch.StartNew();
        var created = false;
        try
        {
            // Not cancelled: a create abandoned in flight may still be carried out, after the deletion below had nothing to delete.
            var made = await api.CallAsync("create runner pod", (client, token) => client.CoreV1.CreateNamespacedPodAsync(pod, api.Namespace, cancellationToken: token), CancellationToken.None);
            created = true;
            var ready = await WaitReadyAsync(name, made.Metadata?.ResourceVersion, cancellationToken);
            KubernetesSessionLog.RunnerReady(logger, runnerId, name, stopwatch.ElapsedMilliseconds);
            return new KubernetesRunner(name, runnerId, ready.Status.PodIP, port, accessToken, DateTimeOffset.UtcNow);
        }
        catch (KubernetesUnavailableException e) when (e.Kind is KubernetesFailure.Conflict)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.Conflict, $"Kubernetes: a pod named {name} exists already", e);
        }
        catch
        {
            if (created)
            {
                await DeleteAsync(name);
            }

            throw;
        }
    }

    public Task RemoveAsync(KubernetesRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        runner.Dispose();
        return DeleteAsync(runner.PodName);
    }

    /// <summary>Deletes a pod at once (no grace: its session is over); a pod already gone is fine; failures are logged, not thrown.</summary>
    public async Task DeleteAsync(string podName)
    {
        try
        {
            await api.CallAsync("delete runner pod", (client, token) => client.CoreV1.DeleteNamespacedPodAsync(podName, api.Namespace, gracePeriodSeconds: 0, cancellationToken: token), CancellationToken.None);
        }
        catch (KubernetesUnavailableException e) when (e.Kind is KubernetesFailure.NotFound)
        {
        }
        catch (KubernetesUnavailableException e)
        {
            KubernetesSessionLog.DeleteFailed(logger, podName, e.Message);
        }
    }

    /// <summary>The template with this runner's name, labels, token and the configured overrides; and the runner's port.</summary>
    internal (V1Pod Pod, int Port) PodFor(string runnerId, string? owner, DateTimeOffset expiresAt, string accessToken)
    {
        // A deep copy: the template is shared by every start.
        var pod = KubernetesJson.Deserialize<V1Pod>(KubernetesJson.Serialize(_template.Value));
        pod.Metadata ??= new V1ObjectMeta();
        pod.Metadata.Name = $"iris-runner-{runnerId}";
        pod.Metadata.GenerateName = null;
        pod.Metadata.NamespaceProperty = api.Namespace;
        pod.Metadata.Labels ??= new Dictionary<string, string>();
        pod.Metadata.Labels[KubernetesNames.RunnerLabel] = runnerId;
        pod.Metadata.Labels[KubernetesNames.ReplicaLabel] = replica.Id;
        pod.Metadata.Labels[KubernetesNames.ExpiresLabel] = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        pod.Metadata.Annotations ??= new Dictionary<string, string>();
        pod.Metadata.Annotations[KubernetesNames.OwnerAnnotation] = owner ?? string.Empty;
        if (_options.RuntimeClassName is { Length: > 0 } runtime)
        {
            pod.Spec.RuntimeClassName = runtime;
        }

        var container = RunnerContainer(pod);
        if (_options.Image is { Length: > 0 } image)
        {
            container.Image = image;
        }

        container.Env ??= new List<V1EnvVar>();
        foreach (var existing in container.Env.Where(e => e.Name == AccessTokenVariable).ToList())
        {
            container.Env.Remove(existing);
        }

        container.Env.Add(new V1EnvVar { Name = AccessTokenVariable, Value = accessToken });
        var port = container.Ports?.FirstOrDefault(p => p.Name == "http") ?? container.Ports?.FirstOrDefault();
        return (pod, port?.ContainerPort ?? 8080);
    }

    private static V1Container RunnerContainer(V1Pod pod) =>
        pod.Spec.Containers.FirstOrDefault(c => c.Name == "runner") ?? pod.Spec.Containers[0];

    private static V1Pod LoadTemplate(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.TemplateInvalid, $"Kubernetes: the runner pod template {path} (Iris:Sessions:Kubernetes:PodTemplatePath) cannot be read: {e.Message}", e);
        }

        V1Pod pod;
        try
        {
            pod = KubernetesYaml.Deserialize<V1Pod>(text);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException or InvalidOperationException)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.TemplateInvalid, $"Kubernetes: the runner pod template {path} is not valid YAML: {e.Message}", e);
        }

        if (pod is null || !string.Equals(pod.Kind, "Pod", StringComparison.Ordinal) || pod.Spec?.Containers is not { Count: > 0 })
        {
            throw new KubernetesUnavailableException(KubernetesFailure.TemplateInvalid, $"Kubernetes: the runner pod template {path} must be a Pod with a container (kind: Pod, spec.containers)");
        }

        return pod;
    }

    /// <summary>
    /// Waits for the pod through a watch from the version it was created at. A watch that ends or breaks goes on from
    /// the last version seen; one whose version is too old (410 Gone) reads the pod afresh and watches from there.
    /// </summary>
    private async Task<V1Pod> WaitReadyAsync(string name, string? resourceVersion, CancellationToken cancellationToken)
    {
        var timeout = TimeSpan.FromSeconds(_options.ReadyTimeoutSeconds);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var started = Stopwatch.StartNew();
        var version = resourceVersion;
        V1Pod? last = null;
        string? lastError = null;
        try
        {
            while (true)
            {
                var expired = false;
                Exception? streamError = null;
                try
                {
                    var seconds = (int)Math.Ceiling(Math.Max(1, (timeout - started.Elapsed).TotalSeconds));
                    var events = api.Pods.WatchListAsync(
                        api.Namespace,
                        allowWatchBookmarks: true,
                        fieldSelector: $"metadata.name={name}",
                        resourceVersion: version,
                        timeoutSeconds: seconds,
                        onError: e => streamError = e,
                        cancellationToken: deadline.Token);
                    await foreach (var (type, pod) in events)
                    {
                        version = pod?.Metadata?.ResourceVersion ?? version;
                        if (type is WatchEventType.Bookmark || pod is null)
                        {
                            continue;
                        }

                        if (type is WatchEventType.Deleted)
                        {
                            throw new KubernetesUnavailableException(KubernetesFailure.Deleted, $"Kubernetes: the runner pod {name} was deleted before it was ready");
                        }

                        last = pod;
                        if (IsReady(pod))
                        {
                            return pod;
                        }
                    }
                }
                catch (Exception e) when (api.Translate("watch runner pod", e, deadline.Token) is { } failure)
                {
                    expired = failure.Kind is KubernetesFailure.Expired;
                    lastError = failure.Message;
                    if (failure.Kind is KubernetesFailure.Refused or KubernetesFailure.NotFound)
                    {
                        throw failure;
                    }
                }

                if (streamError is not null && api.Translate("watch runner pod", streamError, deadline.Token) is { } reported)
                {
                    expired |= reported.Kind is KubernetesFailure.Expired;
                    lastError = reported.Message;
                }

                if (expired)
                {
                    // Too old to resume: read the pod as it is now and watch from its version.
                    last = await ReadAsync(name, deadline.Token);
                    version = last.Metadata?.ResourceVersion;
                    if (IsReady(last))
                    {
                        return last;
                    }

                    continue;
                }

                // The stream ended or broke (the API server restarted, a proxy cut it): go on from the last version seen.
                await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KubernetesUnavailableException(
                KubernetesFailure.NotReady,
                $"Kubernetes: the runner pod {name} did not get ready within {_options.ReadyTimeoutSeconds:0.###} s (Iris:Sessions:Kubernetes:ReadyTimeoutSeconds){Describe(last, lastError)}");
        }
    }

    private async Task<V1Pod> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await api.CallAsync("read runner pod", (client, token) => client.CoreV1.ReadNamespacedPodAsync(name, api.Namespace, cancellationToken: token), cancellationToken);
        }
        catch (KubernetesUnavailableException e) when (e.Kind is KubernetesFailure.NotFound)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.Deleted, $"Kubernetes: the runner pod {name} was deleted before it was ready", e);
        }
    }

    /// <summary>True when the pod is ready and has an address; throws when it never will be.</summary>
    private static bool IsReady(V1Pod pod)
    {
        var name = pod.Metadata?.Name;
        if (pod.Metadata?.DeletionTimestamp is not null)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.Deleted, $"Kubernetes: the runner pod {name} was deleted before it was ready");
        }

        var status = pod.Status;
        if (status is null)
        {
            return false;
        }

        if (status.Phase is "Failed" or "Succeeded")
        {
            var terminated = status.ContainerStatuses?.Select(c => c.State?.Terminated).FirstOrDefault(t => t is not null);
            throw new KubernetesUnavailableException(
                KubernetesFailure.RunnerFailed,
                $"Kubernetes: the runner pod {name} stopped before it was ready (phase {status.Phase}{(terminated is null ? string.Empty : $", exit {terminated.ExitCode}{(terminated.Reason is { } r ? ", " + r : string.Empty)}")}{(status.Message is { Length: > 0 } m ? ", " + m : string.Empty)})");
        }

        foreach (var container in status.ContainerStatuses ?? [])
        {
            if (container.State?.Waiting is { Reason: { } reason } waiting && CannotStart.Contains(reason))
            {
                var pull = reason is "ErrImagePull" or "ImagePullBackOff" or "InvalidImageName" or "ErrImageNeverPull";
                throw new KubernetesUnavailableException(
                    pull ? KubernetesFailure.ImagePull : KubernetesFailure.RunnerFailed,
                    pull
                        ? $"Kubernetes: the runner image '{container.Image}' cannot be pulled for pod {name} ({reason}{(waiting.Message is { Length: > 0 } pm ? ": " + pm : string.Empty)}); set Iris:Sessions:Kubernetes:Image or the template's image to one the nodes can pull"
                        : $"Kubernetes: the runner container of pod {name} cannot start ({reason}{(waiting.Message is { Length: > 0 } cm ? ": " + cm : string.Empty)})");
            }
        }

        if (status.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled") is { Status: "False", Reason: "Unschedulable" } unschedulable)
        {
            throw new KubernetesUnavailableException(KubernetesFailure.Unschedulable, $"Kubernetes: no node can take the runner pod {name}: {unschedulable.Message}");
        }

        return status.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true && !string.IsNullOrEmpty(status.PodIP);
    }

    private static string Describe(V1Pod? pod, string? lastError)
    {
        var parts = new List<string>();
        if (pod?.Status is { } status)
        {
            parts.Add($"phase {status.Phase ?? "unknown"}");
            if (status.Conditions?.FirstOrDefault(c => c.Type == "Ready") is { } ready)
            {
                parts.Add($"Ready={ready.Status}{(ready.Reason is { } r ? " (" + r + ")" : string.Empty)}");
            }
        }

        if (lastError is not null)
        {
            parts.Add(lastError);
        }

        return parts.Count == 0 ? string.Empty : "; last seen: " + string.Join(", ", parts);
    }
}
