using System.Diagnostics;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// <c>iris admin user add|list</c>: in process against SQLite and PostgreSQL, and once as the real entry point
/// (<c>IrisIde.Web admin ...</c>, what <c>./iris admin</c> runs) configured by the environment like a server.
/// </summary>
public sealed class AdminCommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task User_add_without_a_password_prints_a_one_time_password_that_signs_in()
    {
        var data = IrisWebApp.CreateDataDirectory();
        var settings = Sqlite(data);

        var add = await RunAsync(settings, "user", "add", "ann@example.edu", "--role", "student");

        Assert.Equal((0, ""), (add.Code, add.Error));
        var lines = add.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("added ann@example.edu (student)", lines[0]);
        var password = lines[^1];
        Assert.Matches("^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", password);

        // The server on the same data folder takes it, and sends the user to change it first.
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(settings));
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync("ann@example.edu", password);
        using var ide = await client.Http.GetAsync("/").WaitAsync(Timeout);
        Assert.Equal(System.Net.HttpStatusCode.Found, ide.StatusCode);
        Assert.StartsWith(AccountsExtensions.ChangePasswordPath, client.Target(ide), StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_add_with_password_stdin_and_user_list()
    {
        var settings = Sqlite(IrisWebApp.CreateDataDirectory());

        var add = await RunWithStdinAsync(settings, "a long admin password\n", "user", "add", "Root@Example.edu", "--role", "ADMIN", "--password-stdin");
        var second = await RunAsync(settings, "user", "add", "ted@example.edu", "--role", "instructor");
        var list = await RunAsync(settings, "user", "list");

        Assert.Equal((0, "added Root@Example.edu (admin)\n"), (add.Code, add.Output));
        Assert.Equal(0, second.Code);
        Assert.Equal(0, list.Code);
        var rows = list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, rows.Length);
        Assert.Matches(@"^Root@Example\.edu\s+admin\s+active$", rows[1]);
        Assert.Matches(@"^ted@example\.edu\s+instructor\s+must change password$", rows[2]);

        // The password given on stdin is the one that works (no must-change).
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(settings));
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync("root@example.edu", "a long admin password");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/admin/users")).Status);
    }

    [Theory]
    [InlineData(2, "a command is missing")]
    [InlineData(2, "unknown command 'course'", "course", "add", "cs101")]
    [InlineData(2, "'user' needs a command", "user")]
    [InlineData(2, "the email is missing", "user", "add", "--role", "student")]
    [InlineData(2, "--role is missing", "user", "add", "ann@example.edu")]
    [InlineData(2, "--role needs a value", "user", "add", "ann@example.edu", "--role")]
    [InlineData(2, "unknown option '--admin'", "user", "add", "ann@example.edu", "--admin")]
    [InlineData(2, "unexpected argument 'bob@example.edu'", "user", "add", "ann@example.edu", "bob@example.edu", "--role", "student")]
    [InlineData(1, "unknown role 'god'", "user", "add", "ann@example.edu", "--role", "god")]
    [InlineData(1, "is not an email address", "user", "add", "not-an-email", "--role", "student")]
    public async Task Every_error_exits_non_zero_with_a_message(int code, string message, params string[] args)
    {
        var result = await RunAsync(Sqlite(IrisWebApp.CreateDataDirectory()), args);

        Assert.Equal(code, result.Code);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.StartsWith("iris admin: error: ", result.Error, StringComparison.Ordinal);
        Assert.Equal("", result.Output);
    }

    [Fact]
    public async Task A_duplicate_email_a_short_password_and_an_empty_stdin_fail_with_exit_1()
    {
        var settings = Sqlite(IrisWebApp.CreateDataDirectory());
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "ann@example.edu", "--role", "student")).Code);

        var duplicate = await RunAsync(settings, "user", "add", "ANN@example.edu", "--role", "admin");
        var shortPassword = await RunWithStdinAsync(settings, "short\n", "user", "add", "bob@example.edu", "--role", "student", "--password-stdin");
        var noPassword = await RunWithStdinAsync(settings, "", "user", "add", "bob@example.edu", "--role", "student", "--password-stdin");

        Assert.Equal((1, true), (duplicate.Code, duplicate.Error.Contains("is already taken", StringComparison.Ordinal)));
        Assert.Equal((1, true), (shortPassword.Code, shortPassword.Error.Contains("at least 10 characters", StringComparison.Ordinal)));
        Assert.Equal((1, true), (noPassword.Code, noPassword.Error.Contains("no password on stdin", StringComparison.Ordinal)));
        var list = await RunAsync(settings, "user", "list");
        Assert.Equal(2, list.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    [Trait("Needs", "Postgres")]
    public async Task The_commands_act_on_postgres_when_its_connection_string_is_set()
    {
        await using var database = await TestPostgresDatabase.CreateAsync().WaitAsync(Timeout);
        var settings = new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = database.ConnectionString };

        var add = await RunWithStdinAsync(settings, "a long admin password\n", "user", "add", "pg-admin@example.edu", "--role", "admin", "--password-stdin");
        var duplicate = await RunAsync(settings, "user", "add", "pg-admin@example.edu", "--role", "student");
        var list = await RunAsync(settings, "user", "list");

        Assert.Equal(0, add.Code);
        Assert.Equal(1, duplicate.Code);
        Assert.Contains("pg-admin@example.edu", list.Output, StringComparison.Ordinal);
        await using var app = await IrisWebApp.StartAsync(settings);
        using var client = new AccountTestClient(app.BaseAddress);
        await client.SignInOrFailAsync("pg-admin@example.edu", "a long admin password");
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/admin/users")).Status);
    }

    [Fact]
    public async Task The_entry_point_runs_the_command_from_the_environment_and_exits_without_serving()
    {
        var data = IrisWebApp.CreateDataDirectory();

        var add = await RunProcessAsync(data, "admin", "user", "add", "proc@example.edu", "--role", "instructor");
        var bad = await RunProcessAsync(data, "admin", "user", "add", "proc@example.edu", "--role", "nobody");
        var list = await RunProcessAsync(data, "admin", "user", "list");

        Assert.True(add.Code == 0, add.Error);
        Assert.StartsWith("added proc@example.edu (instructor)\n", add.Output, StringComparison.Ordinal);
        Assert.Equal(1, bad.Code);
        Assert.Contains("iris admin: error: unknown role 'nobody'", bad.Error, StringComparison.Ordinal);
        Assert.Contains("proc@example.edu", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", add.Output + add.Error, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(data, "iris.db")));
    }

    private static Dictionary<string, string?> Sqlite(string data) => new() { ["Iris:DataDirectory"] = data };

    private static Task<(int Code, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] args) =>
        RunWithStdinAsync(settings, "", args);

    private static async Task<(int Code, string Output, string Error)> RunWithStdinAsync(IReadOnlyDictionary<string, string?> settings, string stdin, params string[] args)
    {
        using var input = new StringReader(stdin);
        await using var output = new StringWriter();
        await using var error = new StringWriter();
        var code = await AdminCommandLine.RunAsync(args, input, output, error, settings).WaitAsync(Timeout);
        return (code, output.ToString().ReplaceLineEndings("\n"), error.ToString());
    }

    /// <summary>Runs the real app's entry point (<c>IrisIde.Web.dll admin ...</c>) on <paramref name="dataDirectory"/>'s database.</summary>
    internal static async Task<(int Code, string Output, string Error)> RunProcessAsync(string dataDirectory, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        start.ArgumentList.Add(WebDll());
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["Iris__DataDirectory"] = dataDirectory;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, (await output).ReplaceLineEndings("\n"), await error);
    }

    private static string WebDll()
    {
        // Beside the test assembly: the project reference copies the app with its runtimeconfig and deps.
        var dll = Path.Combine(AppContext.BaseDirectory, "IrisIde.Web.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build the solution first");
    }
}
