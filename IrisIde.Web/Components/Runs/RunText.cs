using System.Globalization;
using IrisIde.Execution.Batch.Contracts;
using IrisIde.Execution.Sandboxing;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.WebUtilities;

namespace IrisIde.Web.Components.Runs;

/// <summary>How the run pages write times, durations and outcomes, and link to another page of the same filtered list.</summary>
internal static class RunText
{
    public static IEnumerable<string> Verdicts => Enum.GetValues<Verdict>().Select(v => v.ToWireName());

    public static string When(DateTime utc) => utc.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    public static string Duration(long? ms) => ms is { } value
        ? (value / 1000.0).ToString("0.00 's'", CultureInfo.InvariantCulture)
        : "—";

    public static string Bytes(long? bytes) => bytes is { } value
        ? (value / (1024.0 * 1024.0)).ToString("0.0 'MiB'", CultureInfo.InvariantCulture)
        : "—";

    public static string Outcome(RunRow row) => RunRowPage.Outcome(row);

    /// <summary>The limits a run's program got, or a dash when they were not recorded.</summary>
    public static string Limits(BatchLimits? limits) => limits is null
        ? "—"
        : string.Create(CultureInfo.InvariantCulture, $"{limits.WallSeconds:0.#} s wall, {limits.CpuSeconds:0.#} s CPU, {Bytes(limits.MemoryBytes)} memory, {Bytes(limits.OutputBytes)} output");

    /// <summary>How the program ended: its exit code, the signal that killed it, or nothing yet.</summary>
    public static string Exit(int? exitCode, int? signal) => (exitCode, signal) switch
    {
        (_, { } s) => string.Create(CultureInfo.InvariantCulture, $"signal {s}"),
        ({ } c, null) => string.Create(CultureInfo.InvariantCulture, $"exit code {c}"),
        _ => "—",
    };

    /// <summary>This page's address with its filters and another page number.</summary>
    public static string PageLink(HttpRequest request, int page)
    {
        var query = QueryHelpers.ParseQuery(request.QueryString.Value)
            .Where(q => q.Key != "page" && !string.IsNullOrEmpty(q.Value))
            .ToDictionary(q => q.Key, q => (string?)q.Value.ToString(), StringComparer.Ordinal);
        query["page"] = page.ToString(CultureInfo.InvariantCulture);
        return QueryHelpers.AddQueryString(request.Path, query);
    }

    /// <summary>The filters of this request, for a link (the CSV export) that applies the same ones.</summary>
    public static string Filters(HttpRequest request, string path)
    {
        var query = QueryHelpers.ParseQuery(request.QueryString.Value)
            .Where(q => q.Key is not ("page" or "pageSize") && !string.IsNullOrEmpty(q.Value))
            .ToDictionary(q => q.Key, q => (string?)q.Value.ToString(), StringComparer.Ordinal);
        return QueryHelpers.AddQueryString(path, query);
    }
}
