using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>
/// The Kubernetes API the web app talks to (<c>Iris:Kubernetes</c>): in a cluster its service account (nothing to
/// set); elsewhere a kubeconfig.
/// </summary>
public sealed class KubernetesApiOptions
{
    public const string SectionName = "Iris:Kubernetes";

    /// <summary>A kubeconfig file; empty: the service account when running in a pod, else <c>~/.kube/config</c>.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>The kubeconfig context to use; empty: its current one.</summary>
    public string? Context { get; set; }

    /// <summary>How long one API call may take before the API server counts as unreachable.</summary>
    public double RequestTimeoutSeconds { get; set; } = 30;
}

/// <summary>
/// Runner pods of the Kubernetes session host (<c>Iris:Sessions:Kubernetes</c>): one fresh pod per session from the
/// pod template, never reused, ready within <see cref="ReadyTimeoutSeconds"/>, a warm pool of them waiting.
/// </summary>
public sealed class KubernetesRunnerOptions
{
    public const string SectionName = "Iris:Sessions:Kubernetes";

    /// <summary>Where runner pods are made; empty: the web app's own namespace in a cluster, else <c>default</c>.</summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// The runner pod's YAML (<c>deploy/kubernetes/runner-pod-template.yaml</c> holds it, mounted at
    /// <c>/etc/iris/runner-pod.yaml</c>). Everything that limits or isolates the pod is fixed there; the web app adds
    /// the name, the labels the reaper reads and the pod's access token.
    /// </summary>
    public string PodTemplatePath { get; set; } = "/etc/iris/runner-pod.yaml";

    /// <summary>Overrides the template's image when set.</summary>
    public string? Image { get; set; }

    /// <summary>Overrides the template's <c>runtimeClassName</c> (<c>kata</c> in the deploy files) when set.</summary>
    public string? RuntimeClassName { get; set; }

    /// <summary>How long a new pod may take to be ready (scheduled, image pulled, <c>/healthz</c> answering): the seed's 90 s.</summary>
    public double ReadyTimeoutSeconds { get; set; } = 90;

    /// <summary>Pods started ahead and waiting for a session (each serves one session, then goes).</summary>
    public int PoolSize { get; set; } = 2;

    /// <summary>The most waiting pods when demand grows.</summary>
    public int MaxPoolSize { get; set; } = 8;

    /// <summary>The most runner pods of this web app at once, waiting and in use: past it a session is refused as the server being full.</summary>
    public int MaxRunners { get; set; } = 40;

    /// <summary>A waiting pod older than this is replaced by a fresh one.</summary>
    public double PoolMaxIdleSeconds { get; set; } = 1800;

    /// <summary>How often pods whose web app is gone, or whose time is up, are looked for and deleted.</summary>
    public double ReaperIntervalSeconds { get; set; } = 60;

    /// <summary>This web app's name on the pods it owns (label <c>iris.dev/replica</c>): its own pod's name (the deploy files pass it through the downward API); empty: the host name, which is the pod's name in a cluster.</summary>
    public string? ReplicaId { get; set; }

    internal Runners.RunnerPoolLimits PoolLimits(Protocol.RunnerProtocolOptions protocol) =>
        new(PoolSize, MaxPoolSize, MaxRunners, TimeSpan.FromSeconds(PoolMaxIdleSeconds), TimeSpan.FromSeconds(protocol.MaxSessionSeconds));
}

internal sealed class KubernetesRunnerOptionsValidator : IValidateOptions<KubernetesRunnerOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesRunnerOptions options)
    {
        var problems = new List<string>();
        if (options.Namespace is { Length: > 0 } ns && !KubernetesNames.IsDnsLabel(ns))
        {
            problems.Add("Iris:Sessions:Kubernetes:Namespace must be a namespace name (lower-case letters, digits and '-', at most 63)");
        }

        if (string.IsNullOrWhiteSpace(options.PodTemplatePath))
        {
            problems.Add("Iris:Sessions:Kubernetes:PodTemplatePath must name the runner pod template");
        }

        if (options.RuntimeClassName is { Length: > 0 } runtime && !KubernetesNames.IsDnsSubdomain(runtime))
        {
            problems.Add("Iris:Sessions:Kubernetes:RuntimeClassName must be a RuntimeClass name");
        }

        if (!(options.ReadyTimeoutSeconds > 0))
        {
            problems.Add("Iris:Sessions:Kubernetes:ReadyTimeoutSeconds must be positive");
        }

        if (options.PoolSize < 0 || options.MaxPoolSize < options.PoolSize)
        {
            problems.Add("Iris:Sessions:Kubernetes:PoolSize must be at least 0 and MaxPoolSize at least PoolSize");
        }

        if (options.MaxRunners < 1 || options.MaxRunners < options.MaxPoolSize)
        {
            problems.Add("Iris:Sessions:Kubernetes:MaxRunners must be at least 1 and at least MaxPoolSize");
        }

        if (!(options.PoolMaxIdleSeconds > 0) || !(options.ReaperIntervalSeconds > 0))
        {
            problems.Add("Iris:Sessions:Kubernetes:PoolMaxIdleSeconds and ReaperIntervalSeconds must be positive");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
