using IrisIde.Tests.Audit;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;

namespace IrisIde.Tests.Accounts;

/// <summary>
/// <c>iris admin token list [EMAIL]</c>: every token (or one user's) with its owner, scopes, dates, last use and
/// status, never a secret; an unknown user exits 1. And what the token and user commands do is in the audit log,
/// with <c>cli</c> as the actor.
/// </summary>
public sealed class AccessTokenListCommandLineTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private const string Row = @"^(?<id>[0-9a-f]{32}) (?<user>\S+)\s+(?<scopes>\S+)\s+(?<created>\d{4}-\d\d-\d\d \d\d:\d\d)\s+(?<expires>\d{4}-\d\d-\d\d \d\d:\d\d)\s+(?<used>never|\d{4}-\d\d-\d\d \d\d:\d\d)\s+(?<status>active|revoked|expired)\s+(?<name>.+)$";

    [Fact]
    public async Task Token_list_shows_every_token_or_one_users_and_never_a_secret()
    {
        var settings = Sqlite(IrisWebApp.CreateDataDirectory());
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "ann@example.edu", "--role", "student")).Code);
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "bob@example.edu", "--role", "instructor")).Code);
        var annsToken = await CreateAsync(settings, "ann@example.edu", "--name", "ann's grader", "--scope", "runs");
        var bobsToken = await CreateAsync(settings, "bob@example.edu", "--name", "bob bot");
        Assert.Equal(0, (await RunAsync(settings, "token", "revoke", bobsToken)).Code);

        var all = await RunAsync(settings, "token", "list");
        var anns = await RunAsync(settings, "token", "list", "ANN@example.edu");

        Assert.Equal((0, ""), (all.Code, all.Error));
        var lines = all.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^ID\s+USER\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED\s+STATUS\s+NAME$", lines[0]);
        var rows = lines[1..].Select(l => System.Text.RegularExpressions.Regex.Match(l, Row)).ToList();
        Assert.All(rows, r => Assert.True(r.Success, $"not a row: {r.Value}"));
        Assert.Equal(
            [
                $"{bobsToken[9..41]} bob@example.edu runs,runs:read never revoked bob bot",
                $"{annsToken[9..41]} ann@example.edu runs never active ann's grader",
            ],
            rows.Select(r => $"{r.Groups["id"]} {r.Groups["user"]} {r.Groups["scopes"]} {r.Groups["used"]} {r.Groups["status"]} {r.Groups["name"]}"));
        Assert.Equal(0, anns.Code);
        Assert.Equal(2, anns.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains(annsToken[9..41], anns.Output, StringComparison.Ordinal);
        foreach (var token in new[] { annsToken, bobsToken })
        {
            Assert.DoesNotContain(token[42..], all.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Token_list_of_an_unknown_user_or_with_bad_arguments_exits_non_zero_with_a_message()
    {
        var settings = Sqlite(IrisWebApp.CreateDataDirectory());

        var unknown = await RunAsync(settings, "token", "list", "nobody@example.edu");
        var option = await RunAsync(settings, "token", "list", "--all");
        var extra = await RunAsync(settings, "token", "list", "a@example.edu", "b@example.edu");
        var empty = await RunAsync(settings, "token", "list");

        Assert.Equal((1, "", "iris admin: error: no user with the email 'nobody@example.edu'.\n"), (unknown.Code, unknown.Output, unknown.Error.ReplaceLineEndings("\n")));
        Assert.Equal(2, option.Code);
        Assert.Contains("unknown or malformed 'token' command: list --all", option.Error, StringComparison.Ordinal);
        Assert.Equal(2, extra.Code);
        Assert.Equal(0, empty.Code);
        Assert.Single(empty.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_entry_point_lists_tokens()
    {
        var data = IrisWebApp.CreateDataDirectory();
        Assert.Equal(0, (await RunAsync(Sqlite(data), "user", "add", "proc-list@example.edu", "--role", "student")).Code);
        var token = await CreateAsync(Sqlite(data), "proc-list@example.edu", "--name", "through the process");

        var list = await AdminCommandLineTests.RunProcessAsync(data, "admin", "token", "list", "proc-list@example.edu");
        var unknown = await AdminCommandLineTests.RunProcessAsync(data, "admin", "token", "list", "ghost@example.edu");

        Assert.True(list.Code == 0, list.Error);
        Assert.Contains(token[9..41], list.Output, StringComparison.Ordinal);
        Assert.EndsWith("through the process\n", list.Output, StringComparison.Ordinal);
        Assert.Equal(1, unknown.Code);
        Assert.Contains("no user with the email 'ghost@example.edu'", unknown.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_commands_leave_audit_entries_with_cli_as_the_actor()
    {
        var settings = Sqlite(IrisWebApp.CreateDataDirectory());
        Assert.Equal(0, (await RunAsync(settings, "user", "add", "audited@example.edu", "--role", "admin")).Code);
        var token = await CreateAsync(settings, "audited@example.edu", "--name", "cli token");
        Assert.Equal(0, (await RunAsync(settings, "token", "revoke", token)).Code);

        await using var app = await IrisWebApp.StartAsync(AuditTestSupport.Settings(("Iris:DataDirectory", settings["Iris:DataDirectory"])));
        var entries = await AuditTestSupport.WaitForAsync(app, e => e.Actor == "cli", count: 3);

        Assert.Equal(
            [
                $"{AuditActions.UserCreated} audited@example.edu",
                $"{AuditActions.TokenCreated} token {token[9..41]} of audited@example.edu",
                $"{AuditActions.TokenRevoked} token {token[9..41]} of audited@example.edu",
            ],
            entries.Select(e => $"{e.Action} {e.Target}"));
        Assert.All(entries, e => Assert.Null(e.ActorId));
        Assert.All(entries, e => Assert.DoesNotContain(token[42..], AuditTestSupport.Describe(e), StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> Sqlite(string data) => new() { ["Iris:DataDirectory"] = data };

    private static async Task<string> CreateAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        var created = await RunAsync(settings, ["token", "create", .. args]);
        Assert.True(created.Code == 0, created.Error);
        return created.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(IReadOnlyDictionary<string, string?> settings, params string[] args)
    {
        using var input = new StringReader("");
        await using var output = new StringWriter();
        await using var error = new StringWriter();
        var code = await AdminCommandLine.RunAsync(args, input, output, error, settings).WaitAsync(Timeout);
        return (code, output.ToString().ReplaceLineEndings("\n"), error.ToString());
    }
}
