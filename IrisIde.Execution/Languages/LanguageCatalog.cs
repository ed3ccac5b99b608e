using System.Collections.Frozen;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace IrisIde.Execution.Languages;

/// <summary>
/// The catalogue of languages read from <c>languages.json</c>: lookup by id or any alias,
/// case-insensitively. Availability lives in <see cref="LanguageAvailability"/>.
/// </summary>
public sealed class LanguageCatalog
{
    private readonly FrozenDictionary<string, LanguageDefinition> _byName;

    public LanguageCatalog(IEnumerable<LanguageDefinition> languages)
    {
        All = [.. languages];
        var byName = new Dictionary<string, LanguageDefinition>(StringComparer.OrdinalIgnoreCase);
        foreach (var language in All)
        {
            ThrowIfToolchainInvalid(language);
            foreach (var name in language.Aliases.Prepend(language.Id))
            {
                if (byName.TryGetValue(name, out var other) && !ReferenceEquals(other, language))
                {
                    throw new InvalidOperationException($"Language name '{name}' is claimed by both '{other.Id}' and '{language.Id}'.");
                }

                byName[name] = language;
            }
        }

        _byName = byName.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<LanguageDefinition> All { get; }

    // What the sandbox builds itself (its /proc, /dev, /tmp, the workspace, the synthetic /etc files):
    // a toolchain path there would replace it with the host's.
    private static readonly string[] SandboxManagedRoots = ["/proc", "/dev", "/tmp", Sandboxing.SandboxSpec.SandboxWorkspacePath, "/.iris"];
    private static readonly string[] SandboxManagedFiles = ["/", "/etc", "/etc/passwd", "/etc/group", "/etc/hosts"];

    private static void ThrowIfToolchainInvalid(LanguageDefinition language)
    {
        foreach (var path in language.Toolchain)
        {
            // Absolute and already normal (no '.', '..', '//' or trailing '/'), so prefix checks on it are exact.
            if (string.IsNullOrEmpty(path) || path[0] != '/' || path.Contains('\0', StringComparison.Ordinal)
                || (path.Length > 1 && path.EndsWith('/')) || path.Contains("//", StringComparison.Ordinal)
                || path.Split('/').Any(part => part is "." or ".."))
            {
                throw new InvalidOperationException($"Language '{language.Id}': toolchain path '{path}' must be an absolute, normalised path.");
            }

            if (SandboxManagedFiles.Contains(path, StringComparer.Ordinal)
                || SandboxManagedRoots.Any(root => path == root || path.StartsWith(root + "/", StringComparison.Ordinal)))
            {
                throw new InvalidOperationException($"Language '{language.Id}': toolchain path '{path}' is built by the sandbox itself.");
            }
        }
    }

    /// <summary>Finds a language by id or alias (<c>C++</c>, <c>Python3</c>, <c>js</c>, ...).</summary>
    public bool TryResolve(string? name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LanguageDefinition? language)
    {
        language = null;
        return !string.IsNullOrWhiteSpace(name) && _byName.TryGetValue(name.Trim(), out language);
    }

    /// <summary>Loads the catalogue shipped inside this assembly.</summary>
    public static LanguageCatalog LoadEmbedded()
    {
        using var stream = typeof(LanguageCatalog).Assembly.GetManifestResourceStream("IrisIde.Execution.languages.json")
            ?? throw new InvalidOperationException("The embedded language catalogue is missing.");
        return Load(stream);
    }

    public static LanguageCatalog Load(Stream json)
    {
        var file = JsonSerializer.Deserialize(json, LanguageCatalogJsonContext.Default.LanguageCatalogFile)
            ?? throw new InvalidDataException("The language catalogue is empty.");
        // The source-generated reader sets an absent collection to null rather than leaving the
        // initializer's empty default in place; optional lists and maps are optional in the file.
        return new LanguageCatalog(file.Languages.Select(l => l with
        {
            Aliases = l.Aliases ?? [],
            DebianPackages = l.DebianPackages ?? [],
            SourceExtensions = l.SourceExtensions ?? [],
            Toolchain = l.Toolchain ?? [],
            Environment = l.Environment ?? new Dictionary<string, string>(),
        }));
    }
}

internal sealed record LanguageCatalogFile(IReadOnlyList<LanguageDefinition> Languages);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(LanguageCatalogFile))]
internal sealed partial class LanguageCatalogJsonContext : JsonSerializerContext;
