using IrisIde.Execution.Languages;
using IrisIde.Web.History;
using IrisIde.Web.RunViews;

namespace IrisIde.Web.Components.Runs;

/// <summary>What the run list pages share: the API's filter parsing, falling back to no filters with the message shown.</summary>
internal static class RunPages
{
    public static readonly RunListQuery DefaultQuery = new(1, RunHistoryApi.DefaultPageSize, null, null, null, null, null, null, null);

    public static readonly RunRowPage Empty = new(1, RunHistoryApi.DefaultPageSize, 0, []);

    public static (RunListQuery Query, string? Error) Parse(IQueryCollection query, LanguageCatalog catalog)
    {
        var (parsed, error) = RunListQuery.Parse(query, catalog);
        return parsed is null ? (DefaultQuery, error) : (parsed, null);
    }
}
