using System.Text.Json.Nodes;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Protocol;

/// <summary>The opt-in protocol extensions on the wire: one message per run event, and only for a client that asks.</summary>
[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class RunnerProtocolExtensionsTests(IrisWebAppFixture fixture)
{
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    [Fact]
    public async Task A_client_that_asks_for_extensions_gets_every_step_and_the_whole_outcome()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendAsync(Code("c", "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"));
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal(["accepted", "compile_started", "compile_success", "started", "stdout", "exit"], client.Received.Select(m => m.GetProperty("type").GetString()));
        Assert.Equal("c", client.One("accepted").GetProperty("language").GetString());
        Assert.Equal("ok", client.One("compile_success").GetProperty("verdict").GetString());
        var exit = client.One("exit");
        Assert.Equal(("run", 0, "ok"), (exit.GetProperty("stage").GetString(), exit.GetProperty("exit_code").GetInt32(), exit.GetProperty("verdict").GetString()));
        Assert.True(exit.GetProperty("cpu_ms").GetInt64() >= 0);
    }

    [Fact]
    public async Task With_extensions_a_compile_error_is_followed_by_an_exit_at_the_compile_stage()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendAsync(Code("c", "int main(void) { return missing_symbol; }\n"));
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal(["accepted", "compile_started", "compile_error", "exit"], client.Received.Select(m => m.GetProperty("type").GetString()));
        Assert.Contains("missing_symbol", client.One("compile_error").GetProperty("stderr").GetString(), StringComparison.Ordinal);
        var exit = client.One("exit");
        Assert.Equal(("compile", "compile_error"), (exit.GetProperty("stage").GetString(), exit.GetProperty("verdict").GetString()));
    }

    [Fact]
    public async Task With_extensions_a_refused_code_message_names_the_reason()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendAsync(Code("cobol", "DISPLAY 'HI'."));
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("unknown_language", client.One("error").GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Without_the_opt_in_a_refusal_has_no_reason_field()
    {
        await using var client = await RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

        await client.SendCodeAsync("cobol", "DISPLAY 'HI'.");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.False(client.One("error").TryGetProperty("reason", out _));
    }

    private static JsonObject Code(string language, string source) =>
        new() { ["type"] = "code", ["language"] = language, ["source"] = source, ["extensions"] = 1 };
}
