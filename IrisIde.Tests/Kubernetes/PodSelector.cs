using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// A list or watch request's <c>labelSelector</c> and <c>fieldSelector</c>, in the equality-based forms a session host
/// uses (<c>k=v</c>, <c>k==v</c>, <c>k!=v</c>, <c>k</c>, <c>!k</c>; comma is AND). Set-based forms and unknown fields are
/// refused, as the real API server refuses what it cannot select on, so a test never passes on a filter that was
/// silently ignored.
/// </summary>
internal sealed class PodSelector
{
    private static readonly string[] Fields = ["metadata.name", "metadata.namespace", "status.phase", "spec.nodeName", "status.podIP"];

    private readonly List<Func<V1Pod, bool>> _requirements;

    private PodSelector(List<Func<V1Pod, bool>> requirements) => _requirements = requirements;

    public static PodSelector Everything { get; } = new([]);

    /// <exception cref="FormatException">A requirement it does not support, with the reason.</exception>
    public static PodSelector Parse(string? labelSelector, string? fieldSelector)
    {
        var requirements = new List<Func<V1Pod, bool>>();
        foreach (var term in Terms(labelSelector))
        {
            requirements.Add(LabelRequirement(term));
        }

        foreach (var term in Terms(fieldSelector))
        {
            requirements.Add(FieldRequirement(term));
        }

        return new PodSelector(requirements);
    }

    public bool Matches(V1Pod pod) => _requirements.TrueForAll(requirement => requirement(pod));

    private static IEnumerable<string> Terms(string? selector) =>
        (selector ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Func<V1Pod, bool> LabelRequirement(string term)
    {
        if (term.Contains(' ', StringComparison.Ordinal) || term.Contains('(', StringComparison.Ordinal))
        {
            throw new FormatException($"unable to parse requirement: set-based selector \"{term}\" is not supported here");
        }

        string? Label(V1Pod pod, string key) => pod.Metadata.Labels is { } labels && labels.TryGetValue(key, out var value) ? value : null;
        if (TrySplit(term, "!=", out var notKey, out var notValue))
        {
            return pod => !string.Equals(Label(pod, notKey), notValue, StringComparison.Ordinal);
        }

        if (TrySplit(term, "==", out var key, out var value) || TrySplit(term, "=", out key, out value))
        {
            return pod => string.Equals(Label(pod, key), value, StringComparison.Ordinal);
        }

        if (term.StartsWith('!'))
        {
            var absent = term[1..];
            return pod => Label(pod, absent) is null;
        }

        return pod => Label(pod, term) is not null;
    }

    private static Func<V1Pod, bool> FieldRequirement(string term)
    {
        var equal = !TrySplit(term, "!=", out var field, out var value);
        if (equal && !TrySplit(term, "==", out field, out value) && !TrySplit(term, "=", out field, out value))
        {
            throw new FormatException($"invalid field selector: \"{term}\"");
        }

        if (!Fields.Contains(field, StringComparer.Ordinal))
        {
            throw new FormatException($"field label not supported: {field}");
        }

        string? Field(V1Pod pod) => field switch
        {
            "metadata.name" => pod.Metadata.Name,
            "metadata.namespace" => pod.Metadata.NamespaceProperty,
            "status.phase" => pod.Status?.Phase,
            "spec.nodeName" => pod.Spec?.NodeName,
            _ => pod.Status?.PodIP,
        };

        // An unset field selects as the empty string, as the API server's field sets do.
        return pod => string.Equals(Field(pod) ?? string.Empty, value, StringComparison.Ordinal) == equal;
    }

    private static bool TrySplit(string term, string op, out string key, out string value)
    {
        var at = term.IndexOf(op, StringComparison.Ordinal);
        (key, value) = at > 0 ? (term[..at], term[(at + op.Length)..]) : (string.Empty, string.Empty);
        return at > 0;
    }
}
