using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace IrisIde.Tests.Admission;

/// <summary>
/// The batch API's admission: each cap crossed through the real web app (in-memory bus, jobs run in the
/// app), with the status, problem details and Retry-After a client sees. Jobs that sleep stay unfinished
/// long enough for the caps to count them.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class BatchAdmissionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private const string Sleeper = "import time\ntime.sleep(6)\nprint('done')\n";

    [Fact]
    public async Task A_client_past_its_unfinished_jobs_gets_429_with_retry_after_and_the_others_still_run()
    {
        await using var app = await AdmissionSurfaceTests.StartAppAsync(new()
        {
            ["Iris:Admission:MaxQueuedJobsPerClient"] = "2",
            ["Iris:Admission:MaxQueuedJobs"] = "100",
            ["Iris:Admission:RetryAfterSeconds"] = "30",
        });
        using var http = app.CreateHttpClient();
        var first = await PostAsync(http, "/api/v1/runs", Job(Sleeper));
        var second = await PostAsync(http, "/run-code", new { language = "python", code = Sleeper });
        Assert.Equal(HttpStatusCode.Accepted, first.Status);
        Assert.Equal(HttpStatusCode.OK, second.Status);

        var third = await PostAsync(http, "/api/v1/runs", Job("print(3)"));
        var seedThird = await PostAsync(http, "/run-code", new { language = "python", code = "print(3)" });

        foreach (var refused in new[] { third, seedThird })
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
            Assert.Equal("30", refused.RetryAfter);
            Assert.Equal("application/problem+json", refused.ContentType);
            Assert.Equal("too many queued jobs: at most 2 may wait or run at once per client; wait for some to finish", refused.Body.GetProperty("detail").GetString());
        }

        // Both admitted jobs finish normally; then the client may queue again.
        await WaitForTerminalAsync(http, first.Body.GetProperty("id").GetString()!);
        await WaitForSeedAsync(http, second.Body.GetProperty("task_id").GetString()!);
        var again = await PostAsync(http, "/api/v1/runs", Job("print(4)"));
        Assert.Equal(HttpStatusCode.Accepted, again.Status);
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after()
    {
        await using var app = await AdmissionSurfaceTests.StartAppAsync(new()
        {
            ["Iris:Admission:MaxQueuedJobsPerClient"] = "1",
            ["Iris:Admission:MaxQueuedJobs"] = "1",
        });
        using var http = app.CreateHttpClient();
        var first = await PostAsync(http, "/api/v1/runs", Job(Sleeper));
        Assert.Equal(HttpStatusCode.Accepted, first.Status);

        var refused = await PostAsync(http, "/api/v1/runs", Job("print(2)"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        Assert.Equal("60", refused.RetryAfter);
        Assert.Equal("the batch queue is full (1 jobs waiting or running), try again in a minute", refused.Body.GetProperty("detail").GetString());
        await WaitForTerminalAsync(http, first.Body.GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task Jobs_started_per_minute_are_capped_per_client_with_429()
    {
        await using var app = await AdmissionSurfaceTests.StartAppAsync(new() { ["Iris:Admission:RunsPerMinutePerClient"] = "2" });
        using var http = app.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Accepted, (await PostAsync(http, "/api/v1/runs", Job("print(1)"))).Status);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(http, "/run-code", new { language = "python", code = "print(2)" })).Status);

        var refused = await PostAsync(http, "/api/v1/runs", Job("print(3)"));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("too many runs: at most 2 may start per minute per client; try again in a minute", refused.Body.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(1L, null, "memory limit must be at least 16777216 bytes")]
    [InlineData(null, 0.01, "CPU time limit must be at least 0.1 s")]
    public async Task Limits_below_the_minimum_answer_400_instead_of_ending_as_internal_error(long? memoryBytes, double? cpuSeconds, string detail)
    {
        await using var app = await AdmissionSurfaceTests.StartAppAsync([]);
        using var http = app.CreateHttpClient();

        var refused = await PostAsync(http, "/api/v1/runs", new
        {
            language = "python",
            files = new[] { new { name = "main.py", content = "print(1)" } },
            limits = new { memoryBytes, cpuSeconds },
        });

        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal(detail, refused.Body.GetProperty("detail").GetString());
    }

    private static object Job(string source) => new { language = "python", files = new[] { new { name = "main.py", content = source } } };

    private sealed record Answer(HttpStatusCode Status, string? RetryAfter, string? ContentType, JsonElement Body);

    private static async Task<Answer> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body).WaitAsync(Timeout);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeout);
        return new Answer(response.StatusCode, response.Headers.RetryAfter?.Delta?.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), response.Content.Headers.ContentType?.MediaType, json);
    }

    private static async Task WaitForTerminalAsync(HttpClient http, string id)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        while (true)
        {
            var run = await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/runs/{id}?wait=true", UriKind.Relative), cancel.Token);
            if (run.GetProperty("status").GetString() is "completed" or "failed")
            {
                Assert.Equal("done\n", run.GetProperty("result").GetProperty("stdout").GetString());
                return;
            }
        }
    }

    private static async Task WaitForSeedAsync(HttpClient http, string taskId)
    {
        using var cancel = new CancellationTokenSource(Timeout);
        while (true)
        {
            var result = await http.GetFromJsonAsync<JsonElement>(new Uri($"/results/{taskId}", UriKind.Relative), cancel.Token);
            if (result.GetProperty("status").GetString() != "PENDING")
            {
                Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
                return;
            }

            await Task.Delay(200, cancel.Token);
        }
    }
}
