using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IrisIde.Web.Persistence;

/// <summary>
/// <c>PRAGMA synchronous=NORMAL</c> on every SQLite connection. The database runs in WAL mode, where
/// NORMAL still never corrupts it; it syncs the log at checkpoints instead of at every commit, so a
/// power cut (not a crash of the server) may lose the last commits. Every batch job commits three or
/// four times; with FULL each waited for an fsync, a sixteenth of the web app's CPU per job when profiled.
/// </summary>
internal sealed class SqliteSynchronousNormal : DbConnectionInterceptor
{
    public static readonly SqliteSynchronousNormal Instance = new();

    private const string Pragma = "PRAGMA synchronous=NORMAL;";

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        command.ExecuteNonQuery();
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Pragma;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
