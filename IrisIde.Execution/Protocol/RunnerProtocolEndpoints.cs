using IrisIde.Execution.Admission;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace IrisIde.Execution.Protocol;

/// <summary>The iris-runner WebSocket endpoint, shared by the web host and the runner pod.</summary>
public static class RunnerProtocolEndpoints
{
    /// <summary>Pings idle clients so proxies keep the socket open and dead peers are noticed.</summary>
    public static readonly TimeSpan KeepAliveInterval = TimeSpan.FromSeconds(30);

    /// <summary>A peer that does not answer a ping within this is considered gone (its run is stopped).</summary>
    public static readonly TimeSpan KeepAliveTimeout = TimeSpan.FromSeconds(60);

    /// <summary>WebSocket middleware with the protocol's keep-alive settings.</summary>
    public static IApplicationBuilder UseRunnerWebSockets(this IApplicationBuilder app) =>
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = KeepAliveInterval, KeepAliveTimeout = KeepAliveTimeout });

    /// <summary>
    /// Maps the protocol at <paramref name="pattern"/>. Plain HTTP requests get 400 with a hint; hosts
    /// add their own access rules as endpoint filters, which run before the upgrade.
    /// </summary>
    public static RouteHandlerBuilder MapRunnerWebSocket(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.Map(pattern, static async Task<IResult> (HttpContext context, RunnerProtocolHandler handler) =>
            {
                if (!context.WebSockets.IsWebSocketRequest)
                {
                    return TypedResults.Problem(
                        statusCode: StatusCodes.Status400BadRequest,
                        title: "WebSocket required",
                        detail: "This endpoint speaks the iris-runner protocol over a WebSocket: connect with ws:// or wss:// and send a code message.");
                }

                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                await handler.HandleAsync(socket, ClientKeys.Owner(context, SessionSurface.WebSocket), context.RequestAborted);
                return TypedResults.Empty;
            })
            // One name per path: a host serves the protocol at more than one (/ws, and /run for the seed's front end).
            .WithName($"RunnerProtocol {pattern}")
            .ExcludeFromDescription();

    /// <summary>
    /// <c>GET <paramref name="pattern"/></c>: the languages this host's session backend runs, as the same JSON as
    /// the web app's <c>/api/v1/languages</c>. A runner serves it at <c>/languages</c> so a session host that
    /// relays to runners reports their toolchains, not its own.
    /// </summary>
    public static RouteHandlerBuilder MapSessionLanguages(this IEndpointRouteBuilder endpoints, string pattern) =>
        endpoints.MapGet(pattern, static async (ISessionHost sessions, CancellationToken cancellationToken) =>
                TypedResults.Json(LanguageList.From(await sessions.GetLanguagesAsync(cancellationToken)), LanguageListJsonContext.Default.LanguageList))
            .WithName($"SessionLanguages {pattern}");
}
