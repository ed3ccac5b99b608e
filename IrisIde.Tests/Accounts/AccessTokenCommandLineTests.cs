using System.Globalization;
using System.Net;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// <c>iris admin token create|revoke</c>: the token alone on the last line of stdout, working on a server of the
/// same database until it is revoked; exit 2 for a malformed command line, 1 for an action that fails. On
/// SQLite, on PostgreSQL, and once through the real entry point.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class AccessTokenCommandLineTests
{
    private const int SandboxUid = 63820;
    private const string TokenPattern = "^iris_pat_[0-9a-f]{32}_[A-Za-z0-9_-]{43}$";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Token_create_prints_a_token_that_runs_code_until_token_revoke()
    {
        var data = IrisWebApp.CreateDataDirectory();
        var settings = Settings(data, SandboxUid);
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "tok@example.edu", "--role", "student")).Code);

        var create = await RunAsync(settings, "token", "create", "tok@example.edu", "--name", "grader");
        var readOnly = await RunAsync(settings, "token", "create", "tok@example.edu", "--scope", "runs:read", "--expires-days", "3");

        Assert.Equal((0, ""), (create.Code, create.Error));
        var lines = create.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var token = lines[^1];
        Assert.Matches(TokenPattern, token);
        Assert.Matches(@"^created token [0-9a-f]{32} for tok@example\.edu \(scopes: runs runs:read; expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$", lines[0]);
        Assert.Contains("(scopes: runs:read;", readOnly.Output, StringComparison.Ordinal);

        await using var app = await IrisWebApp.StartAsync(settings);
        await using (var run = await RunnerTestClient.ConnectAsync(app.WebSocketUri, AccessTokenTests.Bearer(token)))
        {
            await run.SendCodeAsync("python", "print('made by the command')\n");
            await run.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("made by the command\n", run.Text("stdout"));
        }

        Assert.Equal(HttpStatusCode.Forbidden, await AccessTokenTests.UpgradeStatusAsync(app.WebSocketUri, AccessTokenTests.Bearer(readOnly.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1])));

        // Revoked while the server runs: refused at the next request.
        var revoke = await RunAsync(settings, "token", "revoke", token);
        var again = await RunAsync(settings, "token", "revoke", token[9..41]);
        Assert.Equal(0, revoke.Code);
        Assert.StartsWith($"revoked token {token[9..41]} ('grader')", revoke.Output, StringComparison.Ordinal);
        Assert.Equal(0, again.Code);
        Assert.Equal(HttpStatusCode.Unauthorized, await AccessTokenTests.UpgradeStatusAsync(app.WebSocketUri, AccessTokenTests.Bearer(token)));
    }

    [Fact]
    public async Task Malformed_command_lines_exit_2_and_failed_actions_exit_1_with_a_message()
    {
        var settings = Settings(IrisWebApp.CreateDataDirectory(), SandboxUid);
        settings["Iris:Auth:AccessTokens:MaxExpiryDays"] = "30";
        settings["Iris:Auth:AccessTokens:DefaultExpiryDays"] = "10";
        settings["Iris:Auth:AccessTokens:MaxTokensPerUser"] = "2";
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "lim@example.edu", "--role", "instructor")).Code);

        var cases = new (string[] Args, int Code, string Message)[]
        {
            (["token"], 2, "'token' needs a command"),
            (["token", "create"], 2, "the email is missing"),
            (["token", "create", "lim@example.edu", "--scope", "runs:write"], 2, "unknown scope 'runs:write'"),
            (["token", "create", "lim@example.edu", "--scope"], 2, "--scope needs a value"),
            (["token", "create", "lim@example.edu", "--expires-days", "0"], 2, "at least 1"),
            (["token", "create", "lim@example.edu", "--expires-days", "soon"], 2, "whole number of days"),
            (["token", "create", "lim@example.edu", "--forever"], 2, "unknown option '--forever'"),
            (["token", "revoke", "not-a-token"], 2, "give the token itself"),
            (["token", "create", "nobody@example.edu"], 1, "no user with the email 'nobody@example.edu'"),
            (["token", "create", "lim@example.edu", "--expires-days", "31"], 1, "1 to 30 days"),
            (["token", "revoke", Guid.NewGuid().ToString("N")], 1, "no token with the id"),
        };
        foreach (var (args, code, message) in cases)
        {
            var result = await RunAsync(settings, args);
            Assert.True(result.Code == code, $"{string.Join(' ', args)}: exit {result.Code}, expected {code}; {result.Error}");
            Assert.Contains(message, result.Error, StringComparison.Ordinal);
            Assert.Equal("", result.Output);
        }

        // The default lifetime is the configured one, and the limit of live tokens per user holds.
        var first = await RunAsync(settings, "token", "create", "lim@example.edu");
        var second = await RunAsync(settings, "token", "create", "lim@example.edu", "--expires-days", "30");
        var third = await RunAsync(settings, "token", "create", "lim@example.edu");
        Assert.Contains(DateTime.UtcNow.AddDays(10).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), first.Output, StringComparison.Ordinal);
        Assert.Equal((0, 0, 1), (first.Code, second.Code, third.Code));
        Assert.Contains("at most 2", third.Error, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Needs", "Postgres")]
    public async Task Tokens_work_on_postgres()
    {
        await using var database = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = database.ConnectionString,
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            ["Iris:Sandbox:Uid"] = (SandboxUid + 20).ToString(CultureInfo.InvariantCulture),
            ["Iris:Sandbox:UidCount"] = "16",
        };
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "pg-tok@example.edu", "--role", "student")).Code);
        var create = await RunAsync(settings, "token", "create", "pg-tok@example.edu");
        Assert.Equal(0, create.Code);
        var token = create.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];

        await using var app = await IrisWebApp.StartAsync(settings);
        using var http = app.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        var taskId = await AccessTokenTests.SubmitAsync(http, "print('pg')");
        using var anonymous = app.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
        await using (var run = await RunnerTestClient.ConnectAsync(new Uri($"ws://{app.BaseAddress.Authority}/ws?access_token={token}")))
        {
            await run.SendCodeAsync("python", "print('pg ws')\n");
            await run.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("pg ws\n", run.Text("stdout"));
        }

        Assert.Equal(0, (await RunAsync(settings, "token", "revoke", token)).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri($"/results/{taskId}", UriKind.Relative)).WaitAsync(Timeout)).StatusCode);
    }

    [Fact]
    public async Task The_entry_point_prints_the_token_alone_on_the_last_line_of_stdout()
    {
        var data = IrisWebApp.CreateDataDirectory();
        Assert.Equal(0, (await RunAsync(Settings(data, SandboxUid), "user", "add", "proc-tok@example.edu", "--role", "admin")).Code);

        var create = await RunProcessAsync(data, "admin", "token", "create", "proc-tok@example.edu", "--scope", "runs");
        var bad = await RunProcessAsync(data, "admin", "token", "create", "proc-tok@example.edu", "--scope", "everything");

        Assert.Equal(0, create.Code);
        Assert.Matches(TokenPattern, create.Output.TrimEnd('\n').Split('\n')[^1]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("unknown scope 'everything'", bad.Error, StringComparison.Ordinal);
    }

    private static Dictionary<string, string?> Settings(string data, int uid) => new()
    {
        ["Iris:DataDirectory"] = data,
        ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
        ["Iris:Sandbox:Uid"] = uid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
    };

    private static async Task<(int Code, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        using var input = new StringReader("");
        await using var output = new StringWriter();
        await using var error = new StringWriter();
        // The command's host reads configuration as the server does; the test-only marker is not a value.
        var real = settings.Where(s => s.Value != IrisWebApp.ProductDefaults);
        var code = await AdminCommandLine.RunAsync(args, input, output, error, real).WaitAsync(Timeout);
        return (code, output.ToString().ReplaceLineEndings("\n"), error.ToString());
    }

    private static Task<(int Code, string Output, string Error)> RunProcessAsync(string dataDirectory, params string[] args) =>
        AdminCommandLineTests.RunProcessAsync(dataDirectory, args);
}
