using IrisIde.Execution.Protocol;
using Microsoft.Extensions.Options;

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
    /// The iris-runner protocol (seed-compatible) at <paramref name="pattern"/>. Anonymous clients are
    /// refused with 401 before the WebSocket upgrade unless <c>Iris:Auth:AllowAnonymousRuns</c> is on.
    /// </summary>
    public static RouteHandlerBuilder MapRunnerProtocol(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.MapRunnerWebSocket(pattern)
            .AddEndpointFilter(static async (context, next) =>
            {
                var http = context.HttpContext;
                var access = http.RequestServices.GetRequiredService<IOptions<RunnerAccessOptions>>().Value;
                if (!access.AllowAnonymousRuns && http.User.Identity?.IsAuthenticated != true)
                {
                    return TypedResults.Problem(
                        statusCode: StatusCodes.Status401Unauthorized,
                        title: "Sign-in required",
                        detail: "Anonymous runs are disabled on this server (Iris:Auth:AllowAnonymousRuns is false).");
                }

                return await next(context);
            });
}
