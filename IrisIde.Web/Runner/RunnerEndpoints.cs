using IrisIde.Execution.Protocol;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using IrisIde.Web.Security;

namespace IrisIde.Web.Runner;

public static class RunnerEndpoints
{
    public static IServiceCollection AddRunnerAccess(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RunnerAccessOptions>()
            .Bind(configuration.GetSection(RunnerAccessOptions.SectionName))
            .ValidateOnStart();
        return services;
    }

    /// <summary>
    /// The iris-runner protocol (seed-compatible) at <paramref name="pattern"/>. Clients are refused before the
    /// WebSocket upgrade: 401 when anonymous and <c>Iris:Auth:AllowAnonymousRuns</c> is off, 403 with an access
    /// token that lacks the <c>runs</c> scope (a bad token was already refused with 401 by <c>UseAccessTokens</c>),
    /// 403 for a course (<c>?course=</c>) the client may not run in.
    /// </summary>
    public static RouteHandlerBuilder MapRunnerProtocol(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.MapRunnerWebSocket(pattern).RequireRunAccess(AccessTokenScopes.Runs).RequireCourseAccess();
}
