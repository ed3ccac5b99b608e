using System.Net.WebSockets;
using System.Text.Json.Nodes;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Protocol;

/// <summary>The web app with <c>Iris:Runner:AllowCustomCommands</c> on.</summary>
public sealed class CustomCommandsAppFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Runner:AllowCustomCommands"] = "true",
    };
}

/// <summary>The web app with tiny idle and session limits, so timeouts happen within a test.</summary>
public sealed class ShortLimitsAppFixture : IrisWebAppFixture
{
    public const double IdleSeconds = 2;
    public const double SessionSeconds = 5;

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Limits:IdleTimeoutSeconds"] = "2",
        ["Iris:Runner:MaxSessionSeconds"] = "5",
    };
}

[Trait("Needs", "Bubblewrap")]
public sealed class RunnerCustomCommandTests(CustomCommandsAppFixture fixture) : IClassFixture<CustomCommandsAppFixture>
{
    [Fact]
    public async Task Custom_commands_are_honoured_when_allowed()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync("c", "#include <stdio.h>\nint main(void) { puts(\"custom build\"); return 0; }\n",
            filename: "main.c", compileCmd: "gcc main.c -o prog && echo compiled-by-custom", command: "./prog && pwd");
        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        Assert.Contains("compiled-by-custom", client.One("compile_success").GetProperty("stdout").GetString(), StringComparison.Ordinal);
        // pwd shows the sandbox's view: the workspace is mounted at /workspace only inside bubblewrap.
        Assert.Equal("custom build\n/workspace\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Theory]
    [InlineData("compile", "command_too_large", "the custom compile command is 16385 bytes; the limit is 16384 bytes")]
    [InlineData("run", "command_too_large", "the custom run command is 16385 bytes; the limit is 16384 bytes")]
    [InlineData("run-nul", "invalid_command", "the custom run command contains a NUL character")]
    public async Task A_custom_command_over_the_limit_or_with_a_nul_is_refused_clearly_and_runs_nothing(string which, string reason, string message)
    {
        // 16 KiB + 1 byte: just over the limit, yet far under what a /ws message may carry (1 MiB).
        var tooLong = "echo " + new string('x', 16 * 1024 + 1 - "echo ".Length);
        var (compile, run) = which switch
        {
            "compile" => (tooLong, "./prog"),
            "run" => ("gcc main.c -o prog", tooLong),
            _ => ("gcc main.c -o prog", "echo a\0b"),
        };
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendAsync(new JsonObject
        {
            ["type"] = "code",
            ["language"] = "c",
            ["source"] = "int main(void) { return 0; }\n",
            ["filename"] = "main.c",
            ["compile_cmd"] = compile,
            ["command"] = run,
            ["extensions"] = 1,
        });
        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        var error = client.One("error");
        Assert.Equal(reason, error.GetProperty("reason").GetString());
        Assert.Contains(message, error.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(client.OfType("compile_success"));
        Assert.Empty(client.OfType("exit"));
    }
}

[Trait("Needs", "Bubblewrap")]
public sealed class RunnerTimeoutTests(ShortLimitsAppFixture fixture) : IClassFixture<ShortLimitsAppFixture>
{
    [Fact]
    public async Task Idle_timeout_ends_a_waiting_program_with_verdict_killed()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync("python", "print('waiting', flush=True)\ninput()\n");
        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        var exit = client.One("exit");
        Assert.Equal("killed", exit.GetProperty("verdict").GetString());
        Assert.Contains("idle", client.Text("stderr"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Session_cap_ends_a_busy_program_with_verdict_killed()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        // Output every 0.2 s keeps it from being idle; only the session cap can end it.
        await client.SendCodeAsync("python", "import time\nwhile True:\n    print('.', end='', flush=True)\n    time.sleep(0.2)\n");
        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        var exit = client.One("exit");
        Assert.Equal("killed", exit.GetProperty("verdict").GetString());
        Assert.Contains("session time limit", client.Text("stderr"), StringComparison.Ordinal);
        Assert.True(exit.GetProperty("time_ms").GetInt64() >= (ShortLimitsAppFixture.SessionSeconds - 1) * 1000);
    }

    [Fact]
    public async Task Connection_that_never_sends_code_is_closed_with_an_error_after_the_idle_timeout()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        Assert.Contains("no code message", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }

    [Fact]
    public async Task A_non_code_message_does_not_stop_the_idle_clock_before_code()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendAsync(new JsonObject { ["type"] = "bogus" });
        await client.ReadToEndAsync().WaitAsync(RunnerTestClient.Timeout);

        Assert.Equal(2, client.OfType("error").Count());
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }
}
