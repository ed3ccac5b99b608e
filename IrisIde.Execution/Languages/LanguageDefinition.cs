using System.Text.Json.Serialization;

namespace IrisIde.Execution.Languages;

/// <summary>One entry of the language catalogue (<c>Languages/languages.json</c>).</summary>
public sealed record LanguageDefinition
{
    /// <summary>Canonical id: <c>c</c>, <c>cpp</c>, <c>python</c>, ...</summary>
    public required string Id { get; init; }

    /// <summary>Every spelling clients may send, matched case-insensitively (the id is always one).</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    public required string DisplayName { get; init; }

    /// <summary>Default source file name; Java needs it to match the public class.</summary>
    public required string FileName { get; init; }

    /// <summary>Compile argv with placeholders, or null for interpreted languages.</summary>
    public IReadOnlyList<string>? Compile { get; init; }

    public required IReadOnlyList<string> Run { get; init; }

    /// <summary>
    /// Extensions (with the dot, case-sensitive) of the files <c>{sources}</c> passes to the compiler
    /// besides the main file: <c>.c</c> for C, so <c>util.c</c> is compiled and linked while
    /// <c>util.h</c> is only included.
    /// </summary>
    public IReadOnlyList<string> SourceExtensions { get; init; } = [];

    /// <summary>Probe run at start-up: exit code 0 means available, its output is the version.</summary>
    public required IReadOnlyList<string> Version { get; init; }

    /// <summary>Monaco editor language id.</summary>
    public required string Monaco { get; init; }

    /// <summary>Debian packages that provide the toolchain (the install hint).</summary>
    public IReadOnlyList<string> DebianPackages { get; init; } = [];

    /// <summary>
    /// Host paths (files or folders) the compile and run commands need, shown read-only inside the
    /// sandbox at the same place on top of the sandbox's small base set; nothing else of the host's
    /// <c>/usr</c> is. Symlinks are followed (<c>/usr/bin/java</c> → <c>/etc/alternatives/java</c> →
    /// the JDK) and reproduced as symlinks; paths that do not exist on this host are skipped.
    /// </summary>
    public IReadOnlyList<string> Toolchain { get; init; } = [];

    /// <summary>Extra environment for compile and run (Go's caches, ...).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>The IDE's starting program (asks for a name and greets).</summary>
    public required string Template { get; init; }

    /// <summary>The shortest program that prints <c>Hello, World!</c>.</summary>
    public required string Hello { get; init; }

    /// <summary>Whether <paramref name="path"/> is one of the <see cref="Toolchain"/> paths or lies inside one.</summary>
    public bool ToolchainContains(string path) =>
        Toolchain.Any(entry => path == entry || path.StartsWith(entry.TrimEnd('/') + "/", StringComparison.Ordinal));

    [JsonIgnore]
    public bool IsCompiled => Compile is { Count: > 0 };

    [JsonIgnore]
    public string InstallHint => DebianPackages.Count == 0
        ? $"install the {DisplayName} toolchain"
        : $"apt-get install {string.Join(' ', DebianPackages)}";
}
