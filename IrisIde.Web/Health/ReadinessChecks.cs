using IrisIde.Execution.Sessions;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IrisIde.Web.Health;

/// <summary>
/// The database answers a real query (not only a connection: an SQLite file that cannot be read still
/// "connects"). The description names the provider, never the connection string.
/// </summary>
public sealed class DatabaseHealthCheck(IrisDbContext db) : IHealthCheck
{
    public const string Name = "database";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var provider = db.Database.ProviderName?.Split('.').LastOrDefault() ?? "database";
        try
        {
            await db.Runs.AsNoTracking().AnyAsync(cancellationToken);
            return HealthCheckResult.Healthy($"{provider} answers");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{provider} does not answer: {e.GetBaseException().Message}");
        }
    }
}

/// <summary>
/// The interactive session backend answers what it can run (<see cref="ISessionHost.GetLanguagesAsync"/>:
/// for Docker and Kubernetes that reaches the runner image; locally, the toolchains), with at least one language.
/// </summary>
public sealed class SessionBackendHealthCheck(ISessionHost sessions) : IHealthCheck
{
    public const string Name = "session-backend";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var languages = await sessions.GetLanguagesAsync(cancellationToken);
            var available = languages.Count(l => l.IsAvailable);
            var data = new Dictionary<string, object> { ["backend"] = sessions.Name, ["available"] = available, ["languages"] = languages.Count };
            return available > 0
                ? HealthCheckResult.Healthy($"{sessions.Name}: {available} of {languages.Count} languages available", data)
                : new HealthCheckResult(context.Registration.FailureStatus, $"{sessions.Name}: no language is available", data: data);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, $"{sessions.Name}: the languages did not answer: {e.GetBaseException().Message}");
        }
    }
}

/// <summary>Liveness: the process answers HTTP. Nothing else, so a down dependency never restarts it.</summary>
public sealed class ProcessHealthCheck : IHealthCheck
{
    public const string Name = "process";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(HealthCheckResult.Healthy("up"));
}
