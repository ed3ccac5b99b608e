using System.Text.Json;
using System.Text.Json.Serialization;
using IrisIde.Execution.Batch;
using IrisIde.Web.Accounts;
using IrisIde.Web.Security;
using MassTransit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IrisIde.Web.Workers;

public sealed record WorkerList(IReadOnlyList<WorkerStatus> Workers);

/// <summary>The job runners this replica hears from, for admins: <c>GET /api/v1/workers</c>.</summary>
public static class WorkersApi
{
    public const string Route = "/api/v1/workers";

    /// <summary>This replica's heartbeat endpoint, added inside the host's one <c>AddMassTransit</c>.</summary>
    public static IBusRegistrationConfigurator AddWorkerHeartbeatConsumer(this IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<WorkerHeartbeatConsumer, WorkerHeartbeatConsumerDefinition>();
        return bus;
    }

    /// <summary>
    /// The registry and its settings. <paramref name="runsJobs"/> is the in-memory mode, where this process is
    /// its own (and only) worker and says so with heartbeats of its own over the in-memory bus.
    /// </summary>
    public static IServiceCollection AddWorkerRegistry(this IServiceCollection services, IConfiguration configuration, bool runsJobs)
    {
        if (runsJobs)
        {
            services.AddWorkerHeartbeats(configuration, inProcess: true);
        }
        else
        {
            services.AddWorkerHeartbeatOptions(configuration);
        }

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<WebReplica>();
        services.TryAddSingleton<WorkerRegistry>();
        // The metrics' worker gauges read the same heartbeats (registered before AddMetricsEndpoint's default).
        services.TryAddSingleton<IrisIde.Web.Metrics.IWorkerGauge>(provider => provider.GetRequiredService<WorkerRegistry>());
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, WorkersJsonContext.Default));
        return services;
    }

    public static IEndpointRouteBuilder MapWorkersApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Route, ListWorkers).WithName("ListWorkers").WithTags("Workers");
        return endpoints;
    }

    /// <summary>
    /// Admins signed in with the cookie only: access tokens carry run scopes, none of which covers the
    /// system's inside. Anonymous: 401 like the run APIs; anyone else: 403.
    /// </summary>
    internal static Results<Ok<WorkerList>, ProblemHttpResult> ListWorkers(HttpContext context, WorkerRegistry registry)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            return TypedResults.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Sign-in required", detail: "The worker list is for admins: sign in.");
        }

        if (RunAccess.IsAccessToken(user) || !user.IsInRole(IrisRoles.Admin))
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Admins only", detail: "The worker list is for admins signed in to the web app; access tokens cannot read it.");
        }

        return TypedResults.Ok(new WorkerList(registry.List()));
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(WorkerList))]
internal sealed partial class WorkersJsonContext : JsonSerializerContext;
