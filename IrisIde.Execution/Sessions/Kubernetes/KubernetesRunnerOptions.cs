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
/// pod template, never reused, ready within <c>ReadyTimeoutSeconds</c>, a warm pool of them waiting.
/// </summary>
public sealed class KubernetesRunnerOptions : Runners.RunnerBackendOptions
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

        options.ValidateShared(KubernetesRunnerOptions.SectionName, problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
