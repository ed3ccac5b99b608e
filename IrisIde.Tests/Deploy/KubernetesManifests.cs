using IrisIde.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace IrisIde.Tests.Deploy;

/// <summary>One YAML document of a manifest file, named in every problem found in it.</summary>
/// <param name="Source">The file, or for the runner pod the ConfigMap key it is embedded in.</param>
public sealed record ManifestDocument(string Source, YamlMappingNode Root)
{
    public string Kind => Root.Text("kind") ?? "";

    /// <summary>The name, or for a pod the session host names the <c>generateName</c> prefix.</summary>
    public string Name => Root.Text("metadata", "name") ?? Root.Text("metadata", "generateName") ?? "";

    public override string ToString() => $"{Source}: {Kind} {Name}";
}

/// <summary>
/// The manifests of <c>deploy/kubernetes</c> as text and as parsed documents, plus the runner Pod embedded in the
/// template ConfigMap (which kubectl never parses: only the web app reads it). Built from text so that a test can check
/// a copy with one line changed and see the check fail.
/// </summary>
public sealed class KubernetesManifests
{
    public const string RunnerTemplateFile = "runner-pod-template.yaml";
    public const string RunnerTemplateKey = "runner-pod.yaml";

    private KubernetesManifests(IReadOnlyDictionary<string, string> texts)
    {
        Texts = texts;
        Documents = texts.OrderBy(t => t.Key, StringComparer.Ordinal).SelectMany(t => Parse(t.Key, t.Value)).ToList();
        RunnerPod = Documents
            .Where(d => d.Kind == "ConfigMap" && d.Root.Text("data", RunnerTemplateKey) is not null)
            .Select(d => Parse($"{d.Source} (data {RunnerTemplateKey})", d.Root.Text("data", RunnerTemplateKey)!).Single())
            .SingleOrDefault();
    }

    /// <summary>File name → text of every <c>*.yaml</c> in the folder.</summary>
    public IReadOnlyDictionary<string, string> Texts { get; }

    public IReadOnlyList<ManifestDocument> Documents { get; }

    public ManifestDocument? RunnerPod { get; }

    public static KubernetesManifests Shipped { get; } = FromFolder(RepositoryFiles.PathOf("deploy", "kubernetes"));

    public static KubernetesManifests FromFolder(string folder) => new(
        Directory.EnumerateFiles(folder, "*.yaml").ToDictionary(file => Path.GetFileName(file), File.ReadAllText, StringComparer.Ordinal));

    /// <summary>A copy with <paramref name="original"/>, which must occur exactly once in the file, replaced.</summary>
    public KubernetesManifests With(string file, string original, string replacement)
    {
        var text = Texts[file];
        var at = text.IndexOf(original, StringComparison.Ordinal);
        if (at < 0 || text.IndexOf(original, at + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"'{original}' must occur exactly once in {file}", nameof(original));
        }

        return new(new Dictionary<string, string>(Texts, StringComparer.Ordinal) { [file] = string.Concat(text.AsSpan(0, at), replacement, text.AsSpan(at + original.Length)) });
    }

    /// <summary>A copy with a file added or replaced whole.</summary>
    public KubernetesManifests WithFile(string file, string text) =>
        new(new Dictionary<string, string>(Texts, StringComparer.Ordinal) { [file] = text });

    public IEnumerable<ManifestDocument> OfKind(string kind) => Documents.Where(d => d.Kind == kind);

    public ManifestDocument? Find(string kind, string name) => Documents.FirstOrDefault(d => d.Kind == kind && d.Name == name);

    private static IEnumerable<ManifestDocument> Parse(string source, string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents.Select(d => d.RootNode).OfType<YamlMappingNode>().Select(root => new ManifestDocument(source, root)).ToList();
    }
}

/// <summary>Reading a manifest's nodes by path, absent nodes being null or empty rather than exceptions.</summary>
public static class ManifestYaml
{
    public static YamlNode? Child(this YamlNode? node, params string[] path)
    {
        foreach (var key in path)
        {
            if (node is not YamlMappingNode mapping || !mapping.Children.TryGetValue(new YamlScalarNode(key), out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? Text(this YamlNode? node, params string[] path) => (node.Child(path) as YamlScalarNode)?.Value;

    public static IReadOnlyList<YamlNode> Items(this YamlNode? node, params string[] path) =>
        node.Child(path) is YamlSequenceNode sequence ? sequence.Children.ToList() : [];

    public static IReadOnlyList<string> Texts(this YamlNode? node, params string[] path) =>
        node.Items(path).OfType<YamlScalarNode>().Select(s => s.Value ?? "").ToList();

    public static IReadOnlyDictionary<string, string> Map(this YamlNode? node, params string[] path) =>
        node.Child(path) is YamlMappingNode mapping
            ? mapping.Children.Where(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode)
                .ToDictionary(c => ((YamlScalarNode)c.Key).Value ?? "", c => ((YamlScalarNode)c.Value).Value ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);

    public static bool IsTrue(this YamlNode? node, params string[] path) => string.Equals(node.Text(path), "true", StringComparison.OrdinalIgnoreCase);

    public static bool IsFalse(this YamlNode? node, params string[] path) => string.Equals(node.Text(path), "false", StringComparison.OrdinalIgnoreCase);
}
