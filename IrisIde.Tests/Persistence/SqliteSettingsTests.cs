using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace IrisIde.Tests.Persistence;

/// <summary>The SQLite database as the app opens it: write-ahead log, synced at checkpoints rather than at every commit.</summary>
public sealed class SqliteSettingsTests : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("iris-sqlite-settings-");

    public void Dispose() => _data.Delete(recursive: true);

    [Fact]
    public async Task Every_connection_runs_in_wal_mode_with_synchronous_normal()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Iris:DataDirectory"] = _data.FullName })
            .Build();
        await using var services = new ServiceCollection()
            .AddIrisPersistence(configuration, new Environment(_data.FullName), migrateAtStart: false)
            .BuildServiceProvider();

        await using (var scope = services.CreateAsyncScope())
        {
            await DatabaseMigrator.MigrateAsync(scope.ServiceProvider.GetRequiredService<IrisDbContext>(), CancellationToken.None);
        }

        // A context of its own, so a connection the migration opened proves nothing.
        await using var second = services.CreateAsyncScope();
        var db = second.ServiceProvider.GetRequiredService<IrisDbContext>();
        await db.Database.OpenConnectionAsync();
        Assert.Equal("wal", await ScalarAsync(db, "PRAGMA journal_mode;"));
        // 1 = NORMAL (2 = FULL, SQLite's default).
        Assert.Equal("1", await ScalarAsync(db, "PRAGMA synchronous;"));
    }

    private static async Task<string?> ScalarAsync(IrisDbContext db, string sql)
    {
        await using var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        return (await command.ExecuteScalarAsync())?.ToString();
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";

        public string ApplicationName { get; set; } = "IrisIde.Tests";

        public string ContentRootPath { get; set; } = root;

        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
