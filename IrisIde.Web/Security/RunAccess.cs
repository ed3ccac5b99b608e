using System.Security.Claims;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Runner;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Security;

/// <summary>
/// Who may start and read runs, on every HTTP surface alike: anonymous clients only while
/// <c>Iris:Auth:AllowAnonymousRuns</c> is on (401 otherwise), a cookie sign-in always, an access token only
/// with the scope the surface needs (403 otherwise).
/// </summary>
public static class RunAccess
{
    public static bool IsAccessToken(ClaimsPrincipal? user) =>
        user?.Identity is { IsAuthenticated: true, AuthenticationType: AccessTokenDefaults.Scheme };

    /// <summary>Whether a signed-in <paramref name="user"/> may do what <paramref name="scope"/> covers: a cookie may do all its role allows, a token what it names.</summary>
    public static bool HasScope(ClaimsPrincipal? user, string scope) =>
        user?.Identity?.IsAuthenticated == true
        && (IsAccessToken(user) ? user.HasClaim(AccessTokenDefaults.ScopeClaim, scope) : AccessTokenScopes.AllowedFor(IrisRoles.All.FirstOrDefault(user.IsInRole)).Contains(scope));

    /// <summary>The signed-in user's id (cookie or token); null when anonymous.</summary>
    public static string? UserId(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true ? user.FindFirstValue(ClaimTypes.NameIdentifier) : null;

    /// <summary>The refusal for <paramref name="context"/>'s client, or null when it may go on.</summary>
    public static IResult? Refusal(HttpContext context, string scope)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            if (context.RequestServices.GetRequiredService<IOptions<RunnerAccessOptions>>().Value.AllowAnonymousRuns)
            {
                return null;
            }

            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Sign-in required",
                detail: "Anonymous runs are disabled on this server (Iris:Auth:AllowAnonymousRuns is false): sign in, or send an access token (Authorization: Bearer <token>).");
        }

        return HasScope(user, scope) ? null : MissingScope(scope);
    }

    public static IResult MissingScope(string scope) => TypedResults.Problem(
        statusCode: StatusCodes.Status403Forbidden,
        title: "Scope missing",
        detail: $"This access token does not have the '{scope}' scope.");

    /// <summary>Refuses requests to these endpoints with <see cref="Refusal"/> before their handler runs (before a WebSocket upgrade).</summary>
    public static TBuilder RequireRunAccess<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) => Refusal(context.HttpContext, scope) ?? await next(context));

    /// <summary>
    /// Whether <paramref name="user"/> may see a run of <paramref name="ownerId"/>: a run without an owner (an
    /// anonymous one) is anyone's who knows its id, as before accounts; an owned run only its owner's and admins'.
    /// </summary>
    public static bool MayRead(ClaimsPrincipal user, string? ownerId) =>
        ownerId is null
        || (user.Identity?.IsAuthenticated == true
            && (user.FindFirstValue(ClaimTypes.NameIdentifier) == ownerId || user.IsInRole(IrisRoles.Admin)));
}
