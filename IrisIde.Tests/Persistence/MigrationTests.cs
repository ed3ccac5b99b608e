using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace IrisIde.Tests.Persistence;

/// <summary>
/// The migrations are written by hand (EF Core Design does not restore here), so these check them
/// against the model: the schema a migration creates must be the one EF would create from the model.
/// No database server is needed: both sides are generated SQL.
/// </summary>
public sealed class MigrationTests
{
    [Fact]
    public void Sqlite_migrations_create_exactly_the_model_schema()
    {
        using var db = new SqliteIrisDbContext(new DbContextOptionsBuilder<SqliteIrisDbContext>().UseSqlite("Data Source=:memory:").Options);

        AssertMigrationsMatchModel(db);
    }

    [Fact]
    public void Postgres_migrations_create_exactly_the_model_schema()
    {
        using var db = new PostgresIrisDbContext(new DbContextOptionsBuilder<PostgresIrisDbContext>().UseNpgsql("Host=127.0.0.1;Database=unused").Options);

        AssertMigrationsMatchModel(db);
    }

    private static void AssertMigrationsMatchModel(IrisDbContext db)
    {
        var fromModel = CreateStatements(db.Database.GenerateCreateScript());
        var fromMigrations = CreateStatements(db.GetService<IMigrator>().GenerateScript());

        Assert.NotEmpty(fromModel);
        Assert.Equal(fromModel, fromMigrations);
    }

    private static List<string> CreateStatements(string script) =>
        [.. script.Split(';')
            .Select(s => string.Join(' ', s.Split((char[])['\n', '\r', ' '], StringSplitOptions.RemoveEmptyEntries)))
            .Where(s => s.StartsWith("CREATE", StringComparison.Ordinal) && !s.Contains("__EFMigrationsHistory", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
}
