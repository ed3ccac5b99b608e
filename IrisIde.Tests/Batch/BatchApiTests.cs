using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Tests.Web;
using IrisIde.Web.Batch;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Batch;

[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class BatchApiTests(IrisWebAppFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    public static TheoryData<string, string> HelloPrograms => new()
    {
        { "python", "print('Hello from Celery!')" },
        { "javascript", "console.log('Hello from Celery!');" },
        { "java", "public class Main { public static void main(String[] a) { System.out.println(\"Hello from Celery!\"); } }" },
        { "cpp", "#include <iostream>\nint main() { std::cout << \"Hello from Celery!\" << std::endl; }" },
        { "c", "#include <stdio.h>\nint main(void) { puts(\"Hello from Celery!\"); return 0; }" },
        { "go", "package main\nimport \"fmt\"\nfunc main() { fmt.Println(\"Hello from Celery!\") }" },
    };

    [Theory]
    [MemberData(nameof(HelloPrograms))]
    public async Task Seed_api_round_trips_hello_as_success_with_its_output(string language, string code)
    {
        using var http = fixture.App.CreateHttpClient();

        var taskId = await SubmitSeedAsync(http, language, code);
        var result = await WaitForSeedResultAsync(http, taskId);

        Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        Assert.Equal("Hello from Celery!\n", result.GetProperty("result").GetProperty("output").GetString());
    }

    [Fact]
    public async Task Seed_api_reports_pending_while_the_job_runs_then_success()
    {
        using var http = fixture.App.CreateHttpClient();

        var taskId = await SubmitSeedAsync(http, "python", "import time\ntime.sleep(1.5)\nprint('done')");
        var first = await GetSeedResultAsync(http, taskId);
        var result = await WaitForSeedResultAsync(http, taskId);

        Assert.Equal("PENDING", first.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("result").ValueKind);
        Assert.Equal("SUCCESS", result.GetProperty("status").GetString());
        Assert.Equal("done\n", result.GetProperty("result").GetProperty("output").GetString());
    }

    [Fact]
    public async Task Seed_api_reports_a_compile_error_as_failure_with_the_compiler_message()
    {
        using var http = fixture.App.CreateHttpClient();

        var taskId = await SubmitSeedAsync(http, "c", "int main(void) { return undefined_name; }");
        var result = await WaitForSeedResultAsync(http, taskId);

        Assert.Equal("FAILURE", result.GetProperty("status").GetString());
        var message = result.GetProperty("result").GetString();
        Assert.StartsWith("compile error", message);
        Assert.Contains("undefined_name", message);
    }

    [Theory]
    [InlineData("3f2504e0-4f89-11d3-9a0c-0305e82c3301")]
    [InlineData("not-a-guid")]
    public async Task Seed_api_answers_404_for_an_unknown_task_id(string taskId)
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Seed_api_refuses_an_unknown_language_with_problem_details()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language = "cobol", code = "x" }).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Runs_api_compiles_a_multi_file_c_program_and_feeds_it_stdin()
    {
        using var http = fixture.App.CreateHttpClient();
        var body = new
        {
            language = "c",
            files = new[]
            {
                new { name = "main.c", content = "#include <stdio.h>\n#include \"greet.h\"\nint main(void) { char name[64]; if (scanf(\"%63s\", name) != 1) return 3; greet(name); return 0; }" },
                new { name = "greet.h", content = "#include <stdio.h>\nstatic void greet(const char *name) { printf(\"hello, %s\\n\", name); }" },
            },
            stdin = "Ada\n",
        };

        using var created = await http.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), body).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var id = (await ReadJsonAsync(created)).GetProperty("id").GetString();
        Assert.Equal($"/api/v1/runs/{id}", created.Headers.Location?.OriginalString);
        var run = await WaitForRunAsync(http, id!);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        var result = run.GetProperty("result");
        Assert.Equal("ok", result.GetProperty("verdict").GetString());
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
        Assert.Equal("hello, Ada\n", result.GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task Runs_api_queues_with_202_semantics_and_clamps_limits_to_the_maximum()
    {
        using var http = fixture.App.CreateHttpClient();
        var body = new { language = "python", files = new[] { new { name = "main.py", content = "print(1)" } }, limits = new { wallSeconds = 1e6, cpuSeconds = 1e6 } };

        using var created = await http.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), body).WaitAsync(Timeout);
        var createdJson = await ReadJsonAsync(created);
        var run = await WaitForRunAsync(http, createdJson.GetProperty("id").GetString()!);

        Assert.Equal("queued", createdJson.GetProperty("status").GetString());
        var limits = run.GetProperty("limits");
        Assert.Equal(60, limits.GetProperty("wallSeconds").GetDouble());
        Assert.Equal(30, limits.GetProperty("cpuSeconds").GetDouble());
        Assert.Equal("1\n", run.GetProperty("result").GetProperty("stdout").GetString());
    }

    [Fact]
    public async Task Runs_api_judges_each_test_case_and_reports_the_first_failing_one()
    {
        using var http = fixture.App.CreateHttpClient();
        var body = new
        {
            language = "python",
            files = new[] { new { name = "main.py", content = "n = int(input())\nprint(n * 2)" } },
            comparison = "whitespace",
            testCases = new[]
            {
                new { name = "two", stdin = "2\n", expectedOutput = "4\n" },
                new { name = "three", stdin = "3\n", expectedOutput = "7\n" },
                new { name = "spaced", stdin = "5\n", expectedOutput = "  10 \n\n" },
            },
        };

        using var created = await http.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), body).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.Accepted, created.StatusCode);
        var run = await WaitForRunAsync(http, (await ReadJsonAsync(created)).GetProperty("id").GetString()!);

        Assert.Equal("completed", run.GetProperty("status").GetString());
        var result = run.GetProperty("result");
        Assert.Equal("wrong_answer", result.GetProperty("verdict").GetString());
        Assert.Equal("6\n", result.GetProperty("stdout").GetString());
        var cases = result.GetProperty("testCases").EnumerateArray().ToList();
        Assert.Equal(["accepted", "wrong_answer", "accepted"], cases.Select(c => c.GetProperty("verdict").GetString()));
        Assert.Equal("three", cases[1].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("exact", "4 \n", false)]
    [InlineData("exact", "4\n", true)]
    [InlineData("whitespace", "4 \n\n", true)]
    [InlineData("whitespace", "4 4\n", false)]
    public void Output_comparison_is_exact_or_ignores_how_whitespace_separates_words(string comparison, string expected, bool matches) =>
        Assert.Equal(matches, IrisIde.Execution.Batch.RunRequestedConsumer.OutputMatches("4\n", expected, comparison));

    [Fact]
    public async Task Runs_api_refuses_test_cases_without_expected_output()
    {
        var response = await PostRunAsync(new { language = "python", files = new[] { new { name = "main.py", content = "pass" } }, testCases = new[] { new { stdin = "1" } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
    }

    [Fact]
    public async Task Runs_api_refuses_an_unknown_language_with_400_problem_details()
    {
        var response = await PostRunAsync(new { language = "cobol", files = new[] { new { name = "a", content = "x" } } });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("cobol", response.Body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Runs_api_refuses_seventeen_files_as_too_large()
    {
        var files = Enumerable.Range(0, 17).Select(i => new { name = $"f{i}.py", content = "pass" }).ToArray();

        var response = await PostRunAsync(new { language = "python", files });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Contains("too many files", response.Body.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Runs_api_refuses_a_300_KiB_source_file_as_too_large()
    {
        var response = await PostRunAsync(new { language = "python", files = new[] { new { name = "main.py", content = new string('#', 300 * 1024) } } });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.Status);
        Assert.Equal(413, response.Body.GetProperty("status").GetInt32());
    }

    [Theory]
    [InlineData("/run-code")]
    [InlineData("/api/v1/runs")]
    public async Task A_body_over_the_request_limit_is_refused_with_413_before_anything_is_queued(string path)
    {
        // One byte of source over the body limit: the body (source plus JSON) crosses it, and nothing else
        // would answer first (the source size check needs the body read).
        var limit = fixture.App.Services.GetRequiredService<IOptions<BatchApiOptions>>().Value.MaxRequestBodyBytes;
        var source = new string('#', checked((int)limit + 1));
        object body = path == "/run-code"
            ? new { language = "python", code = source }
            : new { language = "python", files = new[] { new { name = "main.py", content = source } } };
        var before = await CountRunsAsync();
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.PostAsJsonAsync(new Uri(path, UriKind.Relative), body).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await CountRunsAsync());
    }

    [Theory]
    [InlineData("/run-code")]
    [InlineData("/api/v1/runs")]
    public async Task A_body_that_is_not_json_is_refused_with_problem_details_and_nothing_is_queued(string path)
    {
        var before = await CountRunsAsync();
        using var http = fixture.App.CreateHttpClient();
        using var content = new StringContent("{\"language\": \"python\", \"code\": ", System.Text.Encoding.UTF8, "application/json");

        using var response = await http.PostAsync(new Uri(path, UriKind.Relative), content).WaitAsync(Timeout);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(before, await CountRunsAsync());
    }

    [Fact]
    public async Task Runs_api_refuses_a_callback_when_no_callback_host_is_configured()
    {
        var before = await CountRunsAsync();

        var response = await PostRunAsync(new { language = "python", files = new[] { new { name = "main.py", content = "pass" } }, callbackUrl = "http://127.0.0.1:9/callback" });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("callbacks are not enabled", response.Body.GetProperty("detail").GetString());
        Assert.Equal(before, await CountRunsAsync());
    }

    private async Task<int> CountRunsAsync()
    {
        await using var scope = fixture.App.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<IrisDbContext>().Runs.CountAsync(r => r.Kind == RunKind.Batch).WaitAsync(Timeout);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> PostRunAsync(object body)
    {
        using var http = fixture.App.CreateHttpClient();
        using var response = await http.PostAsJsonAsync(new Uri("/api/v1/runs", UriKind.Relative), body).WaitAsync(Timeout);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, await ReadJsonAsync(response));
    }

    internal static async Task<string> SubmitSeedAsync(HttpClient http, string language, string code)
    {
        using var response = await http.PostAsJsonAsync(new Uri("/run-code", UriKind.Relative), new { language, code }).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await ReadJsonAsync(response);
        var taskId = json.GetProperty("task_id").GetString()!;
        Assert.True(Guid.TryParse(taskId, out _));
        return taskId;
    }

    internal static async Task<JsonElement> GetSeedResultAsync(HttpClient http, string taskId)
    {
        using var response = await http.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    internal static async Task<JsonElement> WaitForSeedResultAsync(HttpClient http, string taskId)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var result = await GetSeedResultAsync(http, taskId);
            if (result.GetProperty("status").GetString() != "PENDING" || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(100);
        }
    }

    internal static async Task<JsonElement> WaitForRunAsync(HttpClient http, string id)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            using var response = await http.GetAsync(new Uri($"/api/v1/runs/{id}?wait=true", UriKind.Relative)).WaitAsync(Timeout);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var run = await ReadJsonAsync(response);
            if (run.GetProperty("status").GetString() is "completed" or "failed" || DateTime.UtcNow > deadline)
            {
                return run;
            }
        }
    }

    internal static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return json.RootElement.Clone();
    }
}
