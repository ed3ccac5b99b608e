using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IrisIde.Web.Persistence;

public static class PersistenceServiceCollectionExtensions
{
    /// <summary>
    /// The database: PostgreSQL when <c>ConnectionStrings:Postgres</c> is set, otherwise SQLite
    /// (<c>ConnectionStrings:Sqlite</c>, or <c>iris.db</c> in <c>Iris:DataDirectory</c>, default <c>data</c>
    /// under the content root). Migrations are applied at start-up, before the bus starts.
    /// </summary>
    public static IServiceCollection AddIrisPersistence(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        var postgres = configuration.GetConnectionString("Postgres");
        if (postgres is { Length: > 0 })
        {
            services.AddDbContext<IrisDbContext, PostgresIrisDbContext>(o => o.UseNpgsql(postgres).ConfigureWarnings(IgnoreSnapshotWarning));
        }
        else
        {
            var sqlite = configuration.GetConnectionString("Sqlite");
            if (sqlite is not { Length: > 0 })
            {
                var dataDirectory = Path.GetFullPath(configuration["Iris:DataDirectory"] is { Length: > 0 } d ? d : "data", environment.ContentRootPath);
                Directory.CreateDirectory(dataDirectory);
                sqlite = $"Data Source={Path.Combine(dataDirectory, "iris.db")}";
            }

            services.AddDbContext<IrisDbContext, SqliteIrisDbContext>(o => o.UseSqlite(sqlite).ConfigureWarnings(IgnoreSnapshotWarning));
        }

        services.TryAddScoped<RunStore>();
        services.AddHostedService<DatabaseMigrator>();
        return services;
    }

    // The migrations are written by hand without a model snapshot (EF Core Design does not restore
    // here), so EF cannot compare the model with one; the migration tests check the schema instead.
    private static void IgnoreSnapshotWarning(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning);
}

/// <summary>Applies migrations when the host starts; registered before the bus so no job lands in a missing table.</summary>
internal sealed class DatabaseMigrator(IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        await db.Database.MigrateAsync(cancellationToken);
        if (db.Database.IsSqlite())
        {
            // Readers do not block the writer (result consumers write while the API polls).
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
