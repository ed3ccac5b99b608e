using System.Data.Common;

namespace IrisIde.Tests.Support;

/// <summary>SQLite's plan for a command (<c>EXPLAIN QUERY PLAN</c>), its steps joined by "; ", e.g. "SEARCH r USING COVERING INDEX …".</summary>
internal static class SqliteQueryPlan
{
    /// <summary>Explains <paramref name="command"/> as it stands (text and parameters) on its connection, which must be open.</summary>
    public static async Task<string> ExplainAsync(DbCommand command)
    {
        command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        var details = new List<string>();
        await using var plan = await command.ExecuteReaderAsync();
        while (await plan.ReadAsync())
        {
            details.Add(plan.GetString(plan.GetOrdinal("detail")));
        }

        return string.Join("; ", details);
    }
}
