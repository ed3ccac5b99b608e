using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Protocol;

/// <summary>The iris-runner protocol over a real WebSocket to the real web app (default settings, local sessions).</summary>
[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class RunnerProtocolTests(IrisWebAppFixture fixture) : RunnerProtocolSuite(fixture);

/// <summary>
/// The iris-runner protocol over a real WebSocket to the real web app, whatever session host its fixture
/// configures: the same messages, in the same order, must come back from every backend.
/// </summary>
public abstract class RunnerProtocolSuite(IrisWebAppFixture fixture)
{
    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    private Task<RunnerTestClient> ConnectAsync() => RunnerTestClient.ConnectAsync(fixture.App.WebSocketUri);

    [Fact]
    public async Task Hello_world_in_python_streams_stdout_then_exits_with_code_zero_and_closes()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "print('Hello, World!')\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("Hello, World!\n", client.Text("stdout"));
        var exit = client.One("exit");
        Assert.Equal(0, exit.GetProperty("return_code").GetInt32());
        Assert.Equal("ok", exit.GetProperty("verdict").GetString());
        Assert.Equal("exit", client.Received[^1].GetProperty("type").GetString());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task Input_is_echoed_and_reaches_the_program()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "name = input('Name? ')\nprint(f'Hello, {name}!')\n");
        await client.WaitForStdoutAsync("Name? ").WaitAsync(Timeout);
        await client.SendInputAsync("Ada\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("Ada\n", client.Text("echo"));
        Assert.Equal("Name? Hello, Ada!\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Carriage_returns_from_a_terminal_reach_python_input_as_plain_lines()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "a = input()\nb = input()\nprint(repr(a), repr(b))\n");
        // The seed front-end sends each key press; Enter arrives as a lone "\r".
        foreach (var key in new[] { "A", "d", "a", "\r" })
        {
            await client.SendInputAsync(key);
        }

        await client.SendInputAsync("Bob\r\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("'Ada' 'Bob'\n", client.Text("stdout"));
        // A bare Enter is not echoed (the seed terminal prints its own newline); the rest is.
        Assert.Equal("AdaBob\n", client.Text("echo"));
    }

    [Fact]
    public async Task Input_sent_before_the_code_message_is_kept_for_the_program()
    {
        await using var client = await ConnectAsync();

        await client.SendInputAsync("early\n");
        await client.SendCodeAsync("python", "print(input().upper())\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("EARLY\n", client.Text("stdout"));
    }

    [Fact]
    public async Task Compile_success_carries_the_compiler_output_in_data_and_stdout()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("c", "#include <stdio.h>\nint main(void) { int unused; printf(\"hi\\n\"); return 0; }\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var compiled = client.One("compile_success");
        Assert.Contains("unused", compiled.GetProperty("data").GetString(), StringComparison.Ordinal);
        Assert.Equal(compiled.GetProperty("data").GetString(), compiled.GetProperty("stdout").GetString());
        Assert.Equal("hi\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Compile_error_carries_the_output_in_data_and_stderr_then_closes()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("c", "int main(void) { return missing_symbol; }\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var failed = client.One("compile_error");
        Assert.Contains("missing_symbol", failed.GetProperty("stderr").GetString(), StringComparison.Ordinal);
        Assert.Equal(failed.GetProperty("stderr").GetString(), failed.GetProperty("data").GetString());
        Assert.Empty(client.OfType("exit"));
        Assert.Equal("compile_error", client.Received[^1].GetProperty("type").GetString());
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task Exit_reports_the_programs_code_with_verdict_time_and_memory()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "import sys\nprint('bye')\nsys.exit(3)\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var exit = client.One("exit");
        Assert.Equal(3, exit.GetProperty("return_code").GetInt32());
        Assert.Equal("runtime_error", exit.GetProperty("verdict").GetString());
        Assert.True(exit.GetProperty("time_ms").GetInt64() >= 0);
        Assert.True(exit.GetProperty("memory_bytes").GetInt64() >= 0);
    }

    [Fact]
    public async Task Unknown_message_type_gets_an_error_and_the_connection_stays_open()
    {
        await using var client = await ConnectAsync();

        await client.SendAsync(new JsonObject { ["type"] = "bogus" });
        var error = await client.ReceiveUntilAsync("error").WaitAsync(Timeout);
        Assert.Contains("bogus", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        await client.SendCodeAsync("python", "print('still here')\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("still here\n", client.Text("stdout"));
    }

    [Fact]
    public async Task Malformed_json_gets_an_error_and_closes_with_invalid_payload_data()
    {
        await using var client = await ConnectAsync();

        await client.SendTextAsync("{\"type\": \"code\", ");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("malformed", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.InvalidPayloadData, client.CloseStatus);
    }

    [Fact]
    public async Task Binary_message_gets_an_error_and_closes_with_invalid_message_type()
    {
        await using var client = await ConnectAsync();

        await client.SendBytesAsync([1, 2, 3], WebSocketMessageType.Binary);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("binary", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, client.CloseStatus);
    }

    [Fact]
    public async Task Source_over_256_KiB_gets_an_error_and_closes_with_message_too_big()
    {
        await using var client = await ConnectAsync();

        var source = "# " + new string('x', 300 * 1024) + "\nprint(1)\n";
        await client.SendCodeAsync("python", source);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("262144", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
        Assert.Empty(client.OfType("stdout"));
    }

    [Fact]
    public async Task Message_over_the_frame_cap_gets_an_error_and_closes_with_message_too_big()
    {
        await using var client = await ConnectAsync();

        var huge = "{\"type\":\"input\",\"data\":\"" + new string('y', 2 * 1024 * 1024) + "\"}";
        await client.SendTextAsync(huge);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("too big", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, client.CloseStatus);
    }

    [Fact]
    public async Task Unsupported_language_gets_an_error_and_closes_with_policy_violation()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("cobol", "DISPLAY 'HI'.");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var error = client.One("error").GetProperty("error").GetString();
        Assert.Contains("unsupported language 'cobol'", error, StringComparison.Ordinal);
        Assert.Contains("python", error, StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }

    [Theory]
    [InlineData("../escape.py")]
    [InlineData("-rf.py")]
    [InlineData("a/b.py")]
    public async Task Invalid_filename_gets_an_error_and_closes_with_policy_violation(string filename)
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "print(1)\n", filename: filename);
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("invalid file name", client.One("error").GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
        Assert.Empty(client.OfType("exit"));
    }

    [Fact]
    public async Task A_valid_filename_is_used_so_a_java_class_can_match_it()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("java", "public class Hello {\n  public static void main(String[] a) { System.out.println(\"from Hello\"); }\n}\n", filename: "Hello.java");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("from Hello\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Custom_commands_are_ignored_when_not_allowed()
    {
        await using var client = await ConnectAsync();

        // Exactly what the seed front-end sends for C.
        await client.SendCodeAsync("c", "#include <stdio.h>\nint main(void) { puts(\"catalogue\"); return 0; }\n",
            filename: "main.c", compileCmd: "echo custom-compile", command: "echo custom-run");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("catalogue\n", client.Text("stdout"));
        Assert.DoesNotContain("custom", client.Describe(), StringComparison.Ordinal);
        Assert.Empty(client.OfType("error"));
    }

    [Fact]
    public async Task Exit_message_stops_an_infinite_loop_with_verdict_killed()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "import time\nprint('looping', flush=True)\nwhile True:\n    time.sleep(0.1)\n");
        await client.WaitForStdoutAsync("looping").WaitAsync(Timeout);
        await client.SendAsync(new JsonObject { ["type"] = "exit" });
        await client.ReadToEndAsync().WaitAsync(Timeout);

        var exit = client.One("exit");
        Assert.Equal("killed", exit.GetProperty("verdict").GetString());
        Assert.NotEqual(0, exit.GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Eof_closes_stdin_so_a_read_to_the_end_returns()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "import sys\ndata = sys.stdin.read()\nprint(len(data), repr(data))\n");
        await client.SendInputAsync("abc");
        await client.SendAsync(new JsonObject { ["type"] = "eof" });
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("3 'abc'\n", client.Text("stdout"));
        Assert.Equal(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Signal_SIGINT_interrupts_python_with_a_keyboard_interrupt()
    {
        await using var client = await ConnectAsync();

        // Short naps, not one long sleep: CPython looks at a caught signal only when the sleep is interrupted, so a SIGINT
        // landing between print() and time.sleep() would wait out the whole sleep (seen 1 run in 400 under load).
        await client.SendCodeAsync("python", "import time\nprint('ready', flush=True)\nwhile True:\n    time.sleep(0.05)\n");
        await client.WaitForStdoutAsync("ready").WaitAsync(Timeout);
        await client.SendAsync(new JsonObject { ["type"] = "signal", ["data"] = "SIGINT" });
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Contains("KeyboardInterrupt", client.Text("stderr"), StringComparison.Ordinal);
        Assert.NotEqual(0, client.One("exit").GetProperty("return_code").GetInt32());
    }

    [Fact]
    public async Task Unknown_signal_gets_an_error_and_the_connection_stays_open()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "print(input())\n");
        await client.SendAsync(new JsonObject { ["type"] = "signal", ["data"] = "SIGSEGV" });
        var error = await client.ReceiveUntilAsync("error").WaitAsync(Timeout);
        Assert.Contains("SIGINT", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        await client.SendInputAsync("fine\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("fine\n", client.Text("stdout"));
    }

    [Fact]
    public async Task Second_code_message_while_running_gets_an_error_and_the_first_run_continues()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "print('first:', input())\n");
        await client.SendCodeAsync("python", "print('second')\n");
        var error = await client.ReceiveUntilAsync("error").WaitAsync(Timeout);
        Assert.Contains("already running", error.GetProperty("error").GetString(), StringComparison.Ordinal);

        await client.SendInputAsync("x\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Equal("first: x\n", client.Text("stdout"));
    }

    [Fact]
    public async Task Client_disconnect_mid_run_kills_the_program()
    {
        // A unique sleep the program starts, so the host's /proc (or the runner's, see SleepRunningAsync) shows whether it survived.
        var marker = $"{Random.Shared.Next(1000, 9999)}.{Random.Shared.Next(100000, 999999)}";
        var client = await ConnectAsync();
        await client.SendCodeAsync("python", $"import subprocess\nprint('started', flush=True)\nsubprocess.run(['sleep', '{marker}'])\n");
        await client.WaitForStdoutAsync("started").WaitAsync(Timeout);
        await WaitUntilAsync(() => SleepRunningAsync(marker), "the program's child process to appear");

        client.Socket.Abort();
        client.Socket.Dispose();

        await WaitUntilAsync(async () => !await SleepRunningAsync(marker), "the program to be killed after the client went away");
    }

    /// <summary>
    /// Whether a <c>sleep</c> with <paramref name="marker"/> in its arguments runs anywhere a program of this suite's
    /// sessions could run. Here: in the host's /proc, where bubblewrap's and runc's processes show. A backend whose
    /// programs the host cannot see (gVisor's own kernel) looks where they are.
    /// </summary>
    protected virtual Task<bool> SleepRunningAsync(string marker) => Task.FromResult(SleepRunning(marker));

    [Fact]
    public async Task Plain_http_request_to_the_websocket_endpoint_gets_400_with_a_hint()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/ws", UriKind.Relative)).WaitAsync(Timeout);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_ascii_output_is_sent_as_utf8_text()
    {
        await using var client = await ConnectAsync();

        await client.SendCodeAsync("python", "print('안녕하세요')\n");
        await client.ReadToEndAsync().WaitAsync(Timeout);

        Assert.Equal("안녕하세요\n", client.Text("stdout"));
        Assert.Contains("안녕하세요", client.OfType("stdout").First().GetRawText(), StringComparison.Ordinal);
    }

    internal static bool SleepRunning(string marker)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"), Encoding.UTF8);
                if (cmdline.StartsWith("sleep\0", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
            }
        }

        return false;
    }

    internal static Task WaitUntilAsync(Func<bool> condition, string what) => WaitUntilAsync(() => Task.FromResult(condition()), what);

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!await condition())
        {
            try
            {
                await Task.Delay(100, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting for {what}");
            }
        }
    }

    internal static JsonElement Exit(RunnerTestClient client) => client.One("exit");
}
