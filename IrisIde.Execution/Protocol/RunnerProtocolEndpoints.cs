using IrisIde.Execution.Admission;
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
            .WithName($"RunnerProtocol {pattern}")
            .ExcludeFromDescription();
}
