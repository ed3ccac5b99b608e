using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IrisIde.Bench;

/// <summary>
/// Whether the course runs view stays fast at 100,000 runs in a course (issue 11): the course runs page (HTML, as a
/// signed-in admin) and <c>GET /api/v1/runs?course=</c> (an admin's access token) at the first, a middle and the last
/// page and with filters, for a course of 100,000 runs against one of 1,000 in the same database, the two requests
/// of a pair taken back to back so the ratio holds on a shared machine. Each response is checked (status, total,
/// row count) so an error page is never what gets timed.
/// </summary>
internal sealed partial class PagingBenchmark(BenchOptions options)
{
    public const int BigCourseRuns = 100_000;

    public const int SmallCourseRuns = 1_000;

    /// <summary>The pages' and the API's default page size: what a reader gets without asking for another.</summary>
    private const int PageSize = 20;

    private const string AdminEmail = "bench-admin@iris.invalid";

    // Only in the throw-away database this section makes and deletes.
    private const string AdminPassword = "bench paging admin password";

    private const int WarmUpRequests = 3;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private int Samples => Math.Max(30, options.Runs);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var data = Directory.CreateTempSubdirectory("iris-bench-paging-");
        try
        {
            var environment = new Dictionary<string, string> { ["Iris__DataDirectory"] = data.FullName };

            // The admin command applies the migrations before it adds the account, so the generator finds the schema.
            await WebAppProcess.AdminAsync(environment, ["user", "add", AdminEmail, "--role", "admin", "--password-stdin"], AdminPassword, cancellationToken);
            var token = (await WebAppProcess.AdminAsync(environment, ["token", "create", AdminEmail, "--scope", "runs:read"], cancellationToken))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
            var generated = await CourseRunsData.WriteAsync(Path.Combine(data.FullName, "iris.db"), BigCourseRuns, SmallCourseRuns, cancellationToken);

            await using var web = await WebAppProcess.StartAsync(environment, cancellationToken);
            var baseAddress = new Uri($"http://127.0.0.1:{web.Port}/");
            using var browser = new SignedInBrowser(baseAddress);
            await browser.SignInAsync(AdminEmail, AdminPassword, cancellationToken);
            using var api = new HttpClient { BaseAddress = baseAddress, Timeout = RequestTimeout };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

            var probes = Probes(generated.Big, generated.Small, browser.Http, api);
            var figures = new List<(Probe Probe, Stats Small, Stats Big)>();
            foreach (var probe in probes)
            {
                var (small, big) = await MeasurePairAsync(probe, cancellationToken);
                figures.Add((probe, small, big));
            }

            Print(generated, figures);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private void Print(GeneratedCourses generated, List<(Probe Probe, Stats Small, Stats Big)> figures)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"8. course runs paging: {BigCourseRuns:N0} runs vs {SmallCourseRuns:N0} in the same database, {Samples} samples each (pairs back to back)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   data: {BigCourseRuns + SmallCourseRuns:N0} runs of {generated.Students} students over a 15-week term, one transaction, inserted in {generated.InsertTime.TotalSeconds:0.0} s"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   filters: one student's {CourseRunsData.FilterVerdict} runs ({generated.Big.StudentVerdictRuns} / {generated.Small.StudentVerdictRuns}), language {CourseRunsData.FilterLanguage} ({generated.Big.LanguageRuns:N0} / {generated.Small.LanguageRuns:N0})"));
        string? surface = null;
        foreach (var (probe, small, big) in figures)
        {
            if (probe.Surface != surface)
            {
                surface = probe.Surface;
                Console.WriteLine($"   {surface}");
            }

            Console.WriteLine($"   {probe.Name,-26}1k   {small}");
            Console.WriteLine($"   {probe.Detail,-26}100k {big}");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   {string.Empty,-26}100k / 1k  median {big.Median / small.Median:0.00}x   p95 {big.P95 / small.P95:0.00}x"));
        }
    }

    /// <summary>
    /// Both courses' requests of a probe, warmed up, then <see cref="Samples"/> pairs back to back, the order
    /// alternating so neither course always follows the other.
    /// </summary>
    private async Task<(Stats Small, Stats Big)> MeasurePairAsync(Probe probe, CancellationToken cancellationToken)
    {
        for (var i = 0; i < WarmUpRequests; i++)
        {
            await TimeAsync(probe.Small, cancellationToken);
            await TimeAsync(probe.Big, cancellationToken);
        }

        var small = new List<double>(Samples);
        var big = new List<double>(Samples);
        for (var i = 0; i < Samples; i++)
        {
            if (i % 2 == 0)
            {
                small.Add(await TimeAsync(probe.Small, cancellationToken));
                big.Add(await TimeAsync(probe.Big, cancellationToken));
            }
            else
            {
                big.Add(await TimeAsync(probe.Big, cancellationToken));
                small.Add(await TimeAsync(probe.Small, cancellationToken));
            }
        }

        return (Stats.Of(small), Stats.Of(big));
    }

    /// <summary>One GET until its whole body is read, in milliseconds; throws unless the response is the page asked for.</summary>
    private static async Task<double> TimeAsync(Request request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await request.Client.GetAsync(request.Path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET {request.Path}: {(int)response.StatusCode} {response.StatusCode}");
        }

        request.Check(body);
        return elapsed;
    }

    private static List<Probe> Probes(GeneratedCourse big, GeneratedCourse small, HttpClient browser, HttpClient api)
    {
        const string page = "course runs page (signed-in admin, HTML)";
        const string json = "/api/v1/runs?course= (admin token, JSON)";
        var probes = new List<Probe>();
        foreach (var (surface, client, make) in new (string, HttpClient, Func<GeneratedCourse, HttpClient, string, int, int, Request>)[]
        {
            (page, browser, PageRequest),
            (json, api, ApiRequest),
        })
        {
            probes.Add(new Probe(surface, "page 1", string.Empty, make(small, client, string.Empty, small.Runs, 1), make(big, client, string.Empty, big.Runs, 1)));
            probes.Add(new Probe(surface, "a middle page", $"({Middle(small.Runs)} / {Middle(big.Runs)})",
                make(small, client, string.Empty, small.Runs, Middle(small.Runs)), make(big, client, string.Empty, big.Runs, Middle(big.Runs))));
            probes.Add(new Probe(surface, "the last page", $"({LastPage(small.Runs)} / {LastPage(big.Runs)})",
                make(small, client, string.Empty, small.Runs, LastPage(small.Runs)), make(big, client, string.Empty, big.Runs, LastPage(big.Runs))));
            probes.Add(new Probe(surface, "student + verdict, page 1", string.Empty,
                make(small, client, StudentVerdict(small), small.StudentVerdictRuns, 1), make(big, client, StudentVerdict(big), big.StudentVerdictRuns, 1)));
            probes.Add(new Probe(surface, "language, page 1", string.Empty,
                make(small, client, Language, small.LanguageRuns, 1), make(big, client, Language, big.LanguageRuns, 1)));
        }

        return probes;
    }

    private const string Language = $"&language={CourseRunsData.FilterLanguage}";

    private static string StudentVerdict(GeneratedCourse course) =>
        $"&user={Uri.EscapeDataString(course.FilterStudentId)}&verdict={CourseRunsData.FilterVerdict}";

    private static int LastPage(int total) => Math.Max(1, (total + PageSize - 1) / PageSize);

    private static int Middle(int total) => (LastPage(total) + 1) / 2;

    private static int RowsOn(int page, int total) => Math.Clamp(total - ((page - 1) * PageSize), 0, PageSize);

    /// <summary>The course runs page; it must show the filter's total and the page's rows, numbered as asked.</summary>
    private static Request PageRequest(GeneratedCourse course, HttpClient client, string filters, int total, int page)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"courses/{course.Id}/runs?page={page}{filters}");
        var rows = RowsOn(page, total);
        return new Request(client, path, html =>
        {
            var shownTotal = TotalPattern().Match(html);
            var shownRows = RowPattern().Count(html);
            var pageLine = string.Create(CultureInfo.InvariantCulture, $"Page {page} of {LastPage(total)}");
            if (!shownTotal.Success || shownTotal.Groups[1].Value != total.ToString(CultureInfo.InvariantCulture) || shownRows != rows
                || !html.Contains(pageLine, StringComparison.Ordinal))
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"GET {path}: expected '{pageLine}', {total} runs and {rows} rows; the page shows total '{(shownTotal.Success ? shownTotal.Groups[1].Value : "none")}' and {shownRows} rows"));
            }
        });
    }

    /// <summary>The runs API; its total, page and items must be the filter's, every item in the course.</summary>
    private static Request ApiRequest(GeneratedCourse course, HttpClient client, string filters, int total, int page)
    {
        var path = string.Create(CultureInfo.InvariantCulture, $"api/v1/runs?course={course.Id}&page={page}{filters}");
        var rows = RowsOn(page, total);
        var courseId = course.Id.ToString();
        return new Request(client, path, body =>
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var items = root.GetProperty("items");
            var inCourse = items.EnumerateArray().Count(i => i.GetProperty("course").GetString() == courseId);
            if (root.GetProperty("total").GetInt32() != total || root.GetProperty("page").GetInt32() != page || items.GetArrayLength() != rows || inCourse != rows)
            {
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"GET {path}: expected page {page}, total {total}, {rows} items in the course; got page {root.GetProperty("page")}, total {root.GetProperty("total")}, {items.GetArrayLength()} items ({inCourse} in the course)"));
            }
        });
    }

    [GeneratedRegex("data-testid=\"run-total\">([0-9]+)<")]
    private static partial Regex TotalPattern();

    [GeneratedRegex("data-testid=\"run-row\"")]
    private static partial Regex RowPattern();

    /// <summary>A GET and the check its response must pass.</summary>
    private sealed record Request(HttpClient Client, string Path, Action<string> Check);

    /// <summary>One figure: the same request for the small course and for the big one.</summary>
    private sealed record Probe(string Surface, string Name, string Detail, Request Small, Request Big);

    /// <summary>
    /// A cookie jar signed in through the sign-in form as a browser posts it: the page's anti-forgery token and
    /// Blazor form name, the account's email and password.
    /// </summary>
    private sealed partial class SignedInBrowser : IDisposable
    {
        private const string SignInPath = "account/signin";
        private const string SessionCookie = "iris.session";

        private readonly HttpClientHandler _handler;
        private readonly Uri _baseAddress;

        public SignedInBrowser(Uri baseAddress)
        {
            _baseAddress = baseAddress;
            _handler = new HttpClientHandler { CookieContainer = new CookieContainer(), UseCookies = true, AllowAutoRedirect = false };
            Http = new HttpClient(_handler) { BaseAddress = baseAddress, Timeout = RequestTimeout };
        }

        public HttpClient Http { get; }

        public async Task SignInAsync(string email, string password, CancellationToken cancellationToken)
        {
            var form = await Http.GetStringAsync(SignInPath, cancellationToken);
            var token = AntiforgeryPattern().Match(form) is { Success: true } match
                ? WebUtility.HtmlDecode(match.Groups[1].Value)
                : throw new InvalidOperationException($"GET /{SignInPath}: no anti-forgery token on the page");
            using var content = new FormUrlEncodedContent(
            [
                new("_handler", "signin"),
                new("Input.Email", email),
                new("Input.Password", password),
                new("__RequestVerificationToken", token),
            ]);
            using var response = await Http.PostAsync(SignInPath, content, cancellationToken);
            if (response.StatusCode != HttpStatusCode.Found || _handler.CookieContainer.GetCookies(_baseAddress)[SessionCookie] is null)
            {
                throw new InvalidOperationException($"sign-in as {email}: {(int)response.StatusCode} {response.StatusCode}, no {SessionCookie} cookie");
            }
        }

        public void Dispose()
        {
            Http.Dispose();
            _handler.Dispose();
        }

        [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
        private static partial Regex AntiforgeryPattern();
    }
}
