using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace IrisIde.Execution.Sessions.Kubernetes;

/// <summary>What Kubernetes accepts as names and label values, and the labels the runner pods carry.</summary>
internal static partial class KubernetesNames
{
    /// <summary>The runner's id (also in the pod's name, <c>iris-runner-{id}</c>); every runner pod of ours has it.</summary>
    public const string RunnerLabel = "iris.dev/runner";

    /// <summary>The web app that made the pod (<see cref="KubernetesReplica.Id"/>).</summary>
    public const string ReplicaLabel = "iris.dev/replica";

    /// <summary>Unix seconds after which any replica's reaper may delete the pod.</summary>
    public const string ExpiresLabel = "iris.dev/expires";

    /// <summary>The session's owner (an annotation: an owner key such as <c>user:42</c> is no valid label value).</summary>
    public const string OwnerAnnotation = "iris.dev/owner";

    public static bool IsDnsLabel(string value) => value.Length <= 63 && DnsLabel().IsMatch(value);

    public static bool IsDnsSubdomain(string value) => value.Length <= 253 && value.Split('.').All(p => p.Length > 0 && IsDnsLabel(p));

    /// <summary>
    /// <paramref name="value"/> as a label value: itself when valid, else its valid characters with a short hash of the
    /// whole (so two different values stay different), at most 63 characters.
    /// </summary>
    public static string LabelValue(string value)
    {
        if (value.Length <= 63 && LabelValuePattern().IsMatch(value))
        {
            return value;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..10];
        var kept = new string([.. value.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')]).Trim('-', '_', '.');
        return kept.Length == 0 ? hash : $"{kept[..Math.Min(kept.Length, 52)].TrimEnd('-', '_', '.')}-{hash}";
    }

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")]
    private static partial Regex LabelValuePattern();
}
