using System.Data.Common;
using IrisIde.Tests.Support;
using IrisIde.Web.Persistence;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace IrisIde.Tests.Persistence;

/// <summary>
/// The migrations `dotnet ef` generated for each provider: their snapshots hold the current model, and a
/// database the previous release created (hand-written migrations, kept as SQL scripts in Releases/) upgrades
/// in place to the same schema a new database gets, its runs intact.
/// </summary>
public sealed class MigrationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly Guid ReleaseRunId = Guid.Parse("6f1c2a0e-58b1-4d7e-9a4e-0c2f3b4a5d6e");

    // Columns by name (their order differs: the release added the callback columns in another order than
    // the generated migration does), and indexes with their columns.
    private const string SqliteSchema = """
        SELECT 'column ' || m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p."notnull" || ' pk=' || p.pk
        FROM sqlite_master m JOIN pragma_table_info(m.name) p
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'
        UNION ALL
        SELECT 'index ' || m.name || ': ' || m.sql
        FROM sqlite_master m
        WHERE m.type = 'index' AND m.sql IS NOT NULL
        ORDER BY 1
        """;

    private const string PostgresSchema = """
        SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || COALESCE(character_maximum_length::text, '-') || ' nullable=' || is_nullable
        FROM information_schema.columns
        WHERE table_schema = 'public'
        UNION ALL
        SELECT 'index ' || indexname || ': ' || indexdef
        FROM pg_indexes
        WHERE schemaname = 'public'
        ORDER BY 1
        """;

    [Fact]
    public void Sqlite_model_has_no_changes_missing_from_its_migrations()
    {
        using var db = Sqlite(new SqliteConnection("Data Source=:memory:"));

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "the model differs from the SQLite snapshot: run `dotnet ef migrations add` for SqliteIrisDbContext");
    }

    [Fact]
    public void Postgres_model_has_no_changes_missing_from_its_migrations()
    {
        // Comparing the model with the snapshot needs no server.
        using var db = Postgres("Host=127.0.0.1;Database=unused");

        Assert.NotEmpty(db.Database.GetMigrations());
        Assert.False(db.Database.HasPendingModelChanges(), "the model differs from the PostgreSQL snapshot: run `dotnet ef migrations add` for PostgresIrisDbContext");
    }

    [Fact]
    public async Task Sqlite_database_of_the_previous_release_upgrades_to_the_current_schema_and_keeps_its_runs()
    {
        await using var upgraded = Sqlite(new SqliteConnection("Data Source=:memory:"));
        await using var created = Sqlite(new SqliteConnection("Data Source=:memory:"));

        await AssertReleaseUpgradesAsync(upgraded, created, "sqlite", SqliteSchema);
    }

    [Fact]
    [Trait("Needs", "Postgres")]
    public async Task Postgres_database_of_the_previous_release_upgrades_to_the_current_schema_and_keeps_its_runs()
    {
        await using var first = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        await using var second = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        await using (var upgraded = Postgres(first.ConnectionString))
        await using (var created = Postgres(second.ConnectionString))
        {
            await AssertReleaseUpgradesAsync(upgraded, created, "postgres", PostgresSchema);
        }
    }

    private static async Task AssertReleaseUpgradesAsync(IrisDbContext upgraded, IrisDbContext created, string provider, string schemaQuery)
    {
        var script = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Persistence", "Releases", $"20261123010000_RunCallbacks.{provider}.sql"));
        await ExecuteAsync(upgraded, script);
        await ExecuteAsync(upgraded, InsertReleaseRun(provider));
        Assert.Equal(["20261122010000_InitialRuns", "20261123010000_RunCallbacks"], await upgraded.Database.GetAppliedMigrationsAsync().WaitAsync(Timeout));

        await upgraded.Database.MigrateAsync().WaitAsync(Timeout);
        await created.Database.MigrateAsync().WaitAsync(Timeout);

        Assert.Empty(await upgraded.Database.GetPendingMigrationsAsync().WaitAsync(Timeout));
        Assert.Equal(upgraded.Database.GetMigrations(), await upgraded.Database.GetAppliedMigrationsAsync().WaitAsync(Timeout));
        var fromUpgrade = await ReadSchemaAsync(upgraded.Database.GetDbConnection(), schemaQuery);
        var fromScratch = await ReadSchemaAsync(created.Database.GetDbConnection(), schemaQuery);
        Assert.Contains(fromScratch, line => line.Contains("ContentExpiredAtUtc", StringComparison.Ordinal));
        Assert.Equal(fromScratch, fromUpgrade);

        var run = await upgraded.Runs.AsNoTracking().SingleAsync(r => r.Id == ReleaseRunId).WaitAsync(Timeout);
        Assert.Equal(RunKind.Batch, run.Kind);
        Assert.Equal(RunRecordStatus.Completed, run.Status);
        Assert.Equal("python", run.Language);
        Assert.Equal("""[{"name":"main.py","content":"print(input())"}]""", run.FilesJson);
        Assert.Equal("kept\n", run.Stdin);
        Assert.Equal("kept\n", run.Stdout);
        Assert.Equal("ok", run.Verdict);
        Assert.Equal(0, run.ExitCode);
        Assert.Equal(new DateTime(2026, 11, 23, 10, 0, 5, DateTimeKind.Utc), DateTime.SpecifyKind(run.FinishedAtUtc!.Value, DateTimeKind.Utc));
        Assert.Equal("https://grader.example/done", run.CallbackUrl);
        Assert.Equal(2, run.CallbackAttempts);
        Assert.True(run.CallbackPending);
        Assert.Null(run.ContentExpiredAtUtc);
    }

    // A finished run as the previous release stored it (every NOT NULL column, callback columns included).
    private static string InsertReleaseRun(string provider)
    {
        var sqlite = provider == "sqlite";
        var id = sqlite ? ReleaseRunId.ToString().ToUpperInvariant() : ReleaseRunId.ToString();
        var kept = sqlite ? "'kept' || char(10)" : "'kept' || chr(10)";
        var pending = sqlite ? "1" : "TRUE";
        var zone = sqlite ? string.Empty : "+00";
        return $$"""
            INSERT INTO runs ("Id", "Kind", "Status", "Language", "FilesJson", "Stdin", "LimitsJson", "QueuedAtUtc", "FinishedAtUtc",
                "Stdout", "Stderr", "ExitCode", "Verdict", "WallMs", "CpuMs", "PeakMemoryBytes", "CallbackUrl", "CallbackPending", "CallbackAttempts")
            VALUES ('{{id}}', 'Batch', 'Completed', 'python', '[{"name":"main.py","content":"print(input())"}]', {{kept}}, '{}',
                '2026-11-23 10:00:00{{zone}}', '2026-11-23 10:00:05{{zone}}',
                {{kept}}, '', 0, 'ok', 40, 30, 9000000, 'https://grader.example/done', {{pending}}, 2);
            """;
    }

    private static async Task ExecuteAsync(IrisDbContext db, string sql)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync().WaitAsync(Timeout);
        }

        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync().WaitAsync(Timeout);
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

    // An in-memory SQLite database lives as long as its open connection, which the context keeps.
    private static SqliteIrisDbContext Sqlite(SqliteConnection connection)
    {
        connection.Open();
        return new SqliteIrisDbContext(new DbContextOptionsBuilder<SqliteIrisDbContext>().UseSqlite(connection, contextOwnsConnection: true).Options);
    }

    private static PostgresIrisDbContext Postgres(string connectionString) =>
        new(new DbContextOptionsBuilder<PostgresIrisDbContext>().UseNpgsql(connectionString).Options);
}
