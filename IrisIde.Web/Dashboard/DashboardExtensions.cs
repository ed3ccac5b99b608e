namespace IrisIde.Web.Dashboard;

/// <summary>The admin dashboard (<c>/admin</c>): its figures service, sampled in the background.</summary>
public static class DashboardExtensions
{
    public static IServiceCollection AddAdminDashboard(this IServiceCollection services)
    {
        services.AddSingleton<AdminDashboard>();
        services.AddHostedService(provider => provider.GetRequiredService<AdminDashboard>());
        return services;
    }
}
