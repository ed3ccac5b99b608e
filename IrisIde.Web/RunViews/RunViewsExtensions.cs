using System.Text;
using IrisIde.Execution.Languages;
using IrisIde.Web.History;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace IrisIde.Web.RunViews;

/// <summary>
/// The run history's pages (My runs, a run, course runs, a student's runs; Blazor components under
/// <c>Components/Runs</c>) and the course runs CSV export, which is authorized exactly as the course runs page.
/// </summary>
public static class RunViewsExtensions
{
    /// <summary>Where a course's runs are exported, with the course runs page's filters in the query.</summary>
    public const string CsvRoute = "/courses/{id:guid}/runs.csv";

    public static IServiceCollection AddRunViews(this IServiceCollection services)
    {
        services.TryAddScoped<RunViewReader>();
        return services;
    }

    public static IEndpointRouteBuilder MapRunViews(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(CsvRoute, ExportCourseRunsAsync).WithName("ExportCourseRuns").RequireAuthorization();
        return endpoints;
    }

    public static string CsvPath(Guid courseId) => $"/courses/{courseId}/runs.csv";

    /// <summary>
    /// The course's runs the filters match, newest first, as CSV, streamed in batches. Anyone but the course's
    /// teaching assistants, instructors and admins gets 404, as on the page.
    /// </summary>
    internal static async Task<Results<NotFound, ProblemHttpResult, PushStreamHttpResult>> ExportCourseRunsAsync(
        Guid id, HttpContext context, RunViewReader reader, LanguageCatalog catalog, CancellationToken cancellationToken)
    {
        if (await reader.StaffViewAsync(context.User, id, cancellationToken) is not { } view)
        {
            return TypedResults.NotFound();
        }

        var (query, error) = RunListQuery.Parse(context.Request.Query, catalog);
        if (query is null)
        {
            return TypedResults.Problem(error, statusCode: StatusCodes.Status400BadRequest, title: "Invalid runs query");
        }

        var runs = (query with { Course = id }).Apply(await reader.VisibleAsync(context.User, cancellationToken));
        var fileName = $"{SafeFileName(view.Course.Code)}-runs.csv";
        return TypedResults.Stream(async body =>
        {
            await using var writer = new StreamWriter(body, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true) { NewLine = "\r\n" };
            await writer.WriteLineAsync(RunCsv.Header.AsMemory(), cancellationToken);
            await foreach (var row in reader.AllAsync(runs, cancellationToken))
            {
                await writer.WriteLineAsync(RunCsv.Line(row).AsMemory(), cancellationToken);
            }
        }, "text/csv; charset=utf-8", fileName);
    }

    /// <summary>The course code as a file name: letters, digits, '-' and '_' only.</summary>
    private static string SafeFileName(string code)
    {
        var safe = new string([.. code.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_')]);
        return safe.Length == 0 ? "course" : safe;
    }
}
