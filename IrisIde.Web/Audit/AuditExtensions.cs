using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Audit;

public static class AuditExtensions
{
    /// <summary>
    /// The audit log: the recorder everything writes to, its background writer, the retention purge and the
    /// reader of the admin page. Needs the database (<c>AddIrisPersistence</c>); register after it, so the
    /// writer starts once the migrations are applied.
    /// </summary>
    public static IServiceCollection AddAudit(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>()
            .Bind(configuration.GetSection(AuditOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddHttpContextAccessor();
        services.TryAddSingleton<AuditRecorder>();
        services.TryAddSingleton<AuditWriter>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditWriter>());
        services.TryAddSingleton<AuditRetentionPurge>();
        services.AddHostedService(provider => provider.GetRequiredService<AuditRetentionPurge>());
        services.TryAddScoped<AuditReader>();
        return services;
    }
}
