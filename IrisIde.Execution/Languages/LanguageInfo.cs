using System.Text.Json;
using System.Text.Json.Serialization;

namespace IrisIde.Execution.Languages;

/// <summary>
/// One catalogue language as the HTTP APIs report it, with whether it can run there: the web app's
/// <c>GET /api/v1/languages</c> and the runner's <c>GET /languages</c> send the same JSON, so a session
/// host can ask its runners what they run.
/// </summary>
public sealed record LanguageInfo(
    string Id,
    IReadOnlyList<string> Aliases,
    string DisplayName,
    string FileName,
    string Monaco,
    string Template,
    bool Compiled,
    bool Available,
    string? Version,
    string? Reason,
    string InstallHint)
{
    public static LanguageInfo From(LanguageStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        var language = status.Language;
        return new LanguageInfo(
            language.Id,
            language.Aliases,
            language.DisplayName,
            language.FileName,
            language.Monaco,
            language.Template,
            language.IsCompiled,
            status.IsAvailable,
            status.Version,
            status.Reason,
            language.InstallHint);
    }
}

public sealed record LanguageList(IReadOnlyList<LanguageInfo> Languages)
{
    public static LanguageList From(IEnumerable<LanguageStatus> statuses) => new([.. statuses.Select(LanguageInfo.From)]);
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LanguageList))]
public sealed partial class LanguageListJsonContext : JsonSerializerContext;
