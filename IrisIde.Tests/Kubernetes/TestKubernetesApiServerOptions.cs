using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>How a <see cref="TestKubernetesApiServer"/> and its <see cref="TestKubelet"/> behave; defaults suit most tests.</summary>
public sealed record TestKubernetesApiServerOptions
{
    /// <summary>The runner image the fake registry has; a pod with any other image fails to pull.</summary>
    public const string DefaultRunnerImage = "iris-runner:test";

    /// <summary>When set, every request needs <c>Authorization: Bearer {token}</c>, else 401, as with a service account.</summary>
    public string? BearerToken { get; init; }

    /// <summary>How often a watch with <c>allowWatchBookmarks=true</c> gets a BOOKMARK (the real server: about a minute).</summary>
    public TimeSpan BookmarkInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Images a pod can pull; any other ends in ErrImagePull, then ImagePullBackOff.</summary>
    public IReadOnlySet<string> PullableImages { get; init; } = new HashSet<string>(StringComparer.Ordinal) { DefaultRunnerImage };

    /// <summary>The one node's allocatable CPU: a runner requesting more stays Pending as Unschedulable.</summary>
    public ResourceQuantity NodeAllocatableCpu { get; init; } = new("2");

    /// <summary>
    /// Configuration keys (<c>Iris:Sandbox:Kind</c> or <c>Iris__Sandbox__Kind</c>) every runner process gets after its
    /// pod's env, standing in for what the pod's own isolation would give it (e.g. the bubblewrap sandbox).
    /// </summary>
    public IReadOnlyDictionary<string, string?> RunnerSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>How long a pod shows ErrImagePull before ImagePullBackOff.</summary>
    public TimeSpan ImagePullBackOffAfter { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often the kubelet asks a runner's readiness probe.</summary>
    public TimeSpan ProbePeriod { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long a delete waits before it takes the pod away (an API server under load); none by default.</summary>
    public TimeSpan DeleteDelay { get; init; } = TimeSpan.Zero;
}
