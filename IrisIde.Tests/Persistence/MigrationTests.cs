using System.Data.Common;
using IrisIde.Tests.Support;
using IrisIde.Web.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IrisIde.Tests.Persistence;

/// <summary>
/// The migrations are written by hand (EF Core Design does not restore here), so these check them
/// against the model on real databases: one built by applying every migration, one created straight
/// from the model, and their tables, columns and indexes must be the same.
/// </summary>
public sealed class MigrationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    // Column defaults are left out: a column added to a table that has rows needs one, the model does not.
    private const string SqliteSchema = """
        SELECT m.type || ' ' || m.name || ': ' || COALESCE(p.name || ' ' || p.type || ' notnull=' || p."notnull" || ' pk=' || p.pk, m.sql)
        FROM sqlite_master m LEFT JOIN pragma_table_info(m.name) p ON m.type = 'table'
        WHERE m.name NOT LIKE '%EFMigrations%' AND m.name NOT LIKE 'sqlite_%'
        ORDER BY m.type, m.name, p.cid
        """;

    private const string PostgresSchema = """
        SELECT 'column ' || table_name || ': ' || column_name || ' ' || data_type || ' ' || COALESCE(character_maximum_length::text, '-') || ' nullable=' || is_nullable
        FROM information_schema.columns
        WHERE table_schema = 'public' AND table_name NOT LIKE '%EFMigrations%'
        UNION ALL
        SELECT 'index ' || indexname || ': ' || indexdef
        FROM pg_indexes
        WHERE schemaname = 'public' AND tablename NOT LIKE '%EFMigrations%'
        ORDER BY 1
        """;

    [Fact]
    public async Task Sqlite_migrations_create_exactly_the_model_schema()
    {
        await using var migrated = Sqlite();
        await using var created = Sqlite();

        await AssertMigrationsMatchModelAsync(migrated, created, SqliteSchema);
    }

    [Fact]
    [Trait("Needs", "Postgres")]
    public async Task Postgres_migrations_create_exactly_the_model_schema()
    {
        await using var first = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        await using var second = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        await using (var migrated = Postgres(first))
        await using (var created = Postgres(second))
        {
            await AssertMigrationsMatchModelAsync(migrated, created, PostgresSchema);
        }
    }

    private static async Task AssertMigrationsMatchModelAsync(IrisDbContext migrated, IrisDbContext created, string schemaQuery)
    {
        await migrated.Database.MigrateAsync().WaitAsync(Timeout);
        await created.Database.EnsureCreatedAsync().WaitAsync(Timeout);

        var fromMigrations = await ReadSchemaAsync(migrated.Database.GetDbConnection(), schemaQuery);
        var fromModel = await ReadSchemaAsync(created.Database.GetDbConnection(), schemaQuery);

        Assert.Contains(fromModel, line => line.Contains("CallbackPending", StringComparison.Ordinal));
        Assert.Equal(fromModel, fromMigrations);
    }

    private static async Task<List<string>> ReadSchemaAsync(DbConnection connection, string query)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync().WaitAsync(Timeout);
        }

        await using var command = connection.CreateCommand();
        command.CommandText = query;
        await using var reader = await command.ExecuteReaderAsync().WaitAsync(Timeout);
        var lines = new List<string>();
        while (await reader.ReadAsync().WaitAsync(Timeout))
        {
            lines.Add(reader.GetString(0));
        }

        return lines;
    }

    // Each in-memory SQLite database lives as long as its open connection, which the context keeps.
    private static SqliteIrisDbContext Sqlite()
    {
        var connection = new SqliteConnection("Data Source=:memory:");
        connection.Open();
        return new SqliteIrisDbContext(new DbContextOptionsBuilder<SqliteIrisDbContext>().UseSqlite(connection, contextOwnsConnection: true).ConfigureWarnings(IgnoreSnapshotWarning).Options);
    }

    private static PostgresIrisDbContext Postgres(TestPostgresDatabase database) =>
        new(new DbContextOptionsBuilder<PostgresIrisDbContext>().UseNpgsql(database.ConnectionString).ConfigureWarnings(IgnoreSnapshotWarning).Options);

    // As in the app: hand-written migrations come without a model snapshot to compare with.
    private static void IgnoreSnapshotWarning(WarningsConfigurationBuilder warnings) =>
        warnings.Ignore(RelationalEventId.PendingModelChangesWarning);
}
