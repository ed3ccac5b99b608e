using System.Net;
using System.Net.Http.Json;
using IrisIde.Tests.History;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;

namespace IrisIde.Tests.Metrics;

/// <summary>
/// Who may read <c>/metrics</c>: an admin's cookie, the scrape token, a client inside an allowed network; nobody
/// else (404, or 401 for a bearer that is not the token). The Prometheus test scrapes the same app for real.
/// </summary>
public sealed partial class MetricsEndpointTests(MetricsAppFixture fixture) : IClassFixture<MetricsAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task Anonymous_is_refused_with_404()
    {
        using var http = App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative)).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_student_cookie_is_refused_and_an_admin_cookie_reads_the_metrics()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "metrics-student");
        using var instructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "metrics-instructor");
        using var admin = await HistoryUser.CreateAsync(App, IrisRoles.Admin, "metrics-admin");

        Assert.Equal(404, (await student.GetAsync("/metrics", byCookie: true)).Status);
        Assert.Equal(404, (await instructor.GetAsync("/metrics", byCookie: true)).Status);
        Assert.Equal(200, (await admin.GetAsync("/metrics", byCookie: true)).Status);
        // An admin's access token, without the cookie, is no scrape token.
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(App, "Bearer " + admin.Token)).Status);
    }

    [Fact]
    public async Task The_scrape_token_reads_the_metrics_in_prometheus_text()
    {
        var (status, body, contentType) = await GetAsync(App, "Bearer " + MetricsAppFixture.ScrapeToken);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("text/plain", contentType, StringComparison.Ordinal);
        // Instruments that report before any run: the gauges.
        Assert.Contains("# TYPE iris_queue_depth gauge", body, StringComparison.Ordinal);
        Assert.Contains("# TYPE iris_workers gauge", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer wrong-token-of-the-right-length!!")]
    [InlineData("Bearer " + MetricsAppFixture.ScrapeToken + "x")]
    [InlineData("bearer " + MetricsAppFixture.ScrapeToken + " trailing")]
    public async Task A_wrong_scrape_token_is_refused_with_401(string authorization)
    {
        var (status, body, _) = await GetAsync(App, authorization);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.DoesNotContain("iris_", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer ")]
    [InlineData("Bearer")]
    [InlineData("Basic " + "Og==")]
    public async Task An_empty_or_other_authorization_is_refused(string authorization)
    {
        var (status, body, _) = await GetAsync(App, authorization);

        Assert.Contains(status, new[] { HttpStatusCode.NotFound, HttpStatusCode.Unauthorized });
        Assert.DoesNotContain("iris_", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forwarded_address_inside_the_allowed_network_opens_nothing()
    {
        // The app trusts no proxy: X-Forwarded-For is a client's claim, and the connection is from 127.0.0.1.
        using var http = App.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        request.Headers.Add("X-Forwarded-For", "10.1.2.3");
        request.Headers.Add("X-Real-IP", "10.1.2.3");

        using var response = await http.SendAsync(request).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task A_client_inside_an_allowed_network_reads_the_metrics_without_a_token()
    {
        // Its own app (no runs: it needs no uids of its own), allowing loopback.
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(MetricsAppFixture.MetricsSettings)
        {
            ["Iris:Metrics:AllowedNetworks:0"] = "127.0.0.1/32",
        });

        var (status, body, _) = await GetAsync(app, authorization: null);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("iris_queue_depth", body, StringComparison.Ordinal);
    }

    /// <summary>
    /// A batch job run by the web app's own consumer (no RabbitMQ here) is counted there, with its queue wait. Its own
    /// app (uids of the fixture's, which runs nothing meanwhile: tests of one class run one at a time), read from
    /// loopback without a token.
    /// </summary>
    [Fact]
    public async Task A_batch_job_is_counted_by_the_process_that_runs_it_with_its_queue_wait()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(MetricsAppFixture.MetricsSettings)
        {
            ["Iris:Metrics:AllowedNetworks:0"] = "127.0.0.1/32",
        });
        using var http = app.CreateHttpClient();
        using (var posted = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "python", code = "print(42)\n" }).WaitAsync(Timeout))
        {
            Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        }

        var deadline = DateTime.UtcNow + Timeout;
        string text;
        do
        {
            await Task.Delay(250);
            text = (await GetAsync(app, authorization: null)).Body;
        }
        while (Sample(text, "iris_runs_total", "surface=\"batch\"", "verdict=\"ok\"", "language=\"python\"") is null && DateTime.UtcNow < deadline);

        Assert.Equal(1, Sample(text, "iris_runs_total", "surface=\"batch\"", "verdict=\"ok\"", "language=\"python\""));
        Assert.Equal(1, Sample(text, "iris_queue_wait_seconds_count", "language=\"python\""));
        Assert.Equal(1, Sample(text, "iris_run_duration_seconds_count", "surface=\"batch\""));

        // The default worker gauge reads the job's worker (this process) from its record at the sampler's next tick.
        var workerId = $"{Environment.MachineName}:{Environment.ProcessId}";
        do
        {
            await Task.Delay(250);
            text = (await GetAsync(app, authorization: null)).Body;
        }
        while (Sample(text, "iris_worker_jobs_in_flight", $"worker=\"{workerId}\"") is null && DateTime.UtcNow < deadline + Timeout);

        Assert.Equal(0, Sample(text, "iris_worker_jobs_in_flight", $"worker=\"{workerId}\""));
        Assert.Contains("\niris_workers", text, StringComparison.Ordinal);
        Assert.Matches("(?m)^iris_workers(\\{[^}]*\\})? 1( |$)", text);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels include all of <paramref name="labels"/>, or null.</summary>
    private static double? Sample(string text, string name, params string[] labels)
    {
        var lines = text.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) && labels.All(label => l.Contains(label, StringComparison.Ordinal))).ToList();
        return lines.Count == 1
            ? double.Parse(lines[0][(lines[0].LastIndexOf('}') + 1)..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)
            : null;
    }

    private static async Task<(HttpStatusCode Status, string Body, string ContentType)> GetAsync(IrisWebApp app, string? authorization)
    {
        using var http = app.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/metrics", UriKind.Relative));
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await http.SendAsync(request).WaitAsync(Timeout);
        var body = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        return (response.StatusCode, body, response.Content.Headers.ContentType?.ToString() ?? string.Empty);
    }
}
