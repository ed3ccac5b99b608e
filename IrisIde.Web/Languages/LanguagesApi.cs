using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Languages;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IrisIde.Web.Languages;

/// <summary>One catalogue language as the API reports it, with whether it can run on this server.</summary>
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
    string InstallHint);

public sealed record LanguageList(IReadOnlyList<LanguageInfo> Languages);

public static class LanguagesApi
{
    public static IServiceCollection AddLanguagesApi(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, LanguagesApiJsonContext.Default));

    /// <summary><c>GET /api/v1/languages</c>: every catalogue language, available or not (with the reason and install hint).</summary>
    public static RouteGroupBuilder MapLanguagesApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        api.MapGet("/languages", GetLanguagesAsync).WithName("GetLanguages");
        return api;
    }

    internal static async Task<Ok<LanguageList>> GetLanguagesAsync(LanguageAvailability availability, CancellationToken cancellationToken)
    {
        var statuses = await availability.GetAllAsync(cancellationToken);
        return TypedResults.Ok(new LanguageList([.. statuses.Select(ToInfo)]));
    }

    private static LanguageInfo ToInfo(LanguageStatus status)
    {
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

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(LanguageList))]
internal sealed partial class LanguagesApiJsonContext : JsonSerializerContext;
