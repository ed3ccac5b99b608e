using IrisIde.Execution.Languages;
using IrisIde.Execution.Sessions;
using Microsoft.AspNetCore.Http.HttpResults;

namespace IrisIde.Web.Languages;

public static class LanguagesApi
{
    public static IServiceCollection AddLanguagesApi(this IServiceCollection services) =>
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, LanguageListJsonContext.Default));

    /// <summary>
    /// <c>GET /api/v1/languages</c>: every catalogue language, available or not (with the reason and install
    /// hint), as the session backend reports it: runs happen there, so its toolchains are the ones that count.
    /// </summary>
    public static RouteGroupBuilder MapLanguagesApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        api.MapGet("/languages", GetLanguagesAsync).WithName("GetLanguages");
        return api;
    }

    internal static async Task<Ok<LanguageList>> GetLanguagesAsync(ISessionHost sessions, CancellationToken cancellationToken) =>
        TypedResults.Ok(LanguageList.From(await sessions.GetLanguagesAsync(cancellationToken)));
}
