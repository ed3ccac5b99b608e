using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace IrisIde.Web.Persistence;

// `dotnet ef` builds each provider's context through these, not through the app's host: the host registers
// only the provider its configuration picks. Generating migrations never connects, so the connection
// strings only have to parse.

/// <summary>The SQLite context for <c>dotnet ef migrations add --context SqliteIrisDbContext</c>.</summary>
public sealed class SqliteIrisDbContextFactory : IDesignTimeDbContextFactory<SqliteIrisDbContext>
{
    public SqliteIrisDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteIrisDbContext>().UseSqlite("Data Source=design-time.db").Options);
}

/// <summary>The PostgreSQL context for <c>dotnet ef migrations add --context PostgresIrisDbContext</c>.</summary>
public sealed class PostgresIrisDbContextFactory : IDesignTimeDbContextFactory<PostgresIrisDbContext>
{
    public PostgresIrisDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresIrisDbContext>().UseNpgsql("Host=localhost;Database=iris").Options);
}
