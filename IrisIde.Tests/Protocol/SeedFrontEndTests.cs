using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using IrisIde.Tests.Web;

namespace IrisIde.Tests.Protocol;

/// <summary>
/// The seed's own browser client, unchanged, against the web app. At its current head it connects to
/// <c>/run</c> (the pod manager's path), sends the compile and run commands of its language with the code,
/// one <c>input</c> message per keystroke (Enter as <c>"\r"</c>, printing its own newline), and shows
/// <c>compile_error.stderr</c>, <c>echo</c>, <c>stdout</c>, <c>stderr</c> and the exit from <c>return_code</c>.
/// </summary>
[Collection(IrisWebCollection.Name)]
[Trait("Needs", "Bubblewrap")]
public sealed class SeedFrontEndTests(IrisWebAppFixture fixture)
{
    private const string ExitLine = "\n[시스템] 프로그램 종료 exit code: ";

    private static readonly string[] SeedServerTypes = ["compile_success", "compile_error", "stdout", "stderr", "echo", "exit", "error"];

    private static readonly TimeSpan Timeout = RunnerTestClient.Timeout;

    private Uri RunUri => new($"ws://{fixture.App.BaseAddress.Authority}/run");

    [Fact]
    public async Task The_seed_front_end_runs_an_interactive_c_program_at_run_typing_key_by_key()
    {
        await using var client = await RunnerTestClient.ConnectAsync(RunUri);
        var terminal = new SeedTerminal(client);

        // Exactly the seed front end's code message for C.
        await client.SendCodeAsync("c", "#include <stdio.h>\nint main(void) {\n  char name[64];\n  printf(\"Name? \");\n  fflush(stdout);\n  if (scanf(\"%63s\", name) != 1) return 1;\n  printf(\"Hello, %s!\\n\", name);\n  return 3;\n}\n",
            filename: "main.c", compileCmd: "gcc main.c -o main", command: "./main");
        await terminal.ShowUntilAsync("Name? ").WaitAsync(Timeout);
        var typed = string.Empty;
        foreach (var key in "Ada")
        {
            // A person types after seeing the echo of the previous key.
            typed += key;
            await terminal.TypeAsync(key.ToString()).WaitAsync(Timeout);
            await terminal.ShowUntilAsync($"Name? {typed}").WaitAsync(Timeout);
        }

        await terminal.TypeAsync("\r").WaitAsync(Timeout);
        await terminal.ShowToEndAsync().WaitAsync(Timeout);

        Assert.Equal($"Name? Ada\nHello, Ada!\n{ExitLine}3\n", terminal.Screen);
        Assert.All(client.Received, m => Assert.Contains(m.GetProperty("type").GetString(), SeedServerTypes));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task The_seed_front_end_shows_a_compile_error_at_run_and_the_connection_closes()
    {
        await using var client = await RunnerTestClient.ConnectAsync(RunUri);
        var terminal = new SeedTerminal(client);

        await client.SendCodeAsync("c", "int main(void) { return missing_symbol; }\n", filename: "main.c", compileCmd: "gcc main.c -o main", command: "./main");
        await terminal.ShowToEndAsync().WaitAsync(Timeout);

        Assert.Contains("missing_symbol", terminal.Screen, StringComparison.Ordinal);
        Assert.DoesNotContain(ExitLine, terminal.Screen, StringComparison.Ordinal);
        Assert.Equal(["compile_error"], client.Received.Select(m => m.GetProperty("type").GetString()));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
    }

    [Fact]
    public async Task Run_and_ws_send_a_seed_client_the_same_messages()
    {
        const string Source = "import sys\nname = input('Name? ')\nprint('Hello,', name)\nprint('warned', file=sys.stderr)\nsys.exit(2)\n";
        var atWs = await RunPythonAsync(fixture.App.WebSocketUri, Source);
        var atRun = await RunPythonAsync(RunUri, Source);

        Assert.Equal(Strip(atWs), Strip(atRun));
        Assert.Contains("\"return_code\":2", atRun[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_plain_http_request_to_run_gets_400_with_a_hint()
    {
        using var http = fixture.App.CreateHttpClient();

        using var response = await http.GetAsync(new Uri("/run", UriKind.Relative)).WaitAsync(Timeout);

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("WebSocket", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    private static async Task<List<string>> RunPythonAsync(Uri uri, string source)
    {
        await using var client = await RunnerTestClient.ConnectAsync(uri);
        await client.SendCodeAsync("python", source, filename: "main.py", command: "python main.py");
        await client.WaitForStdoutAsync("Name? ").WaitAsync(Timeout);
        await client.SendInputAsync("Bo\r");
        await client.ReadToEndAsync().WaitAsync(Timeout);
        return [.. client.Received.Select(m => m.GetRawText())];
    }

    /// <summary>
    /// The messages with usage numbers zeroed, and the output between two other messages joined per stream,
    /// stdout first: where a program's writes split into messages depends on timing (python writes print's
    /// parts separately), and so does the order of the two streams (two pipes, read side by side).
    /// </summary>
    private static List<string> Strip(List<string> messages)
    {
        var joined = new List<string>();
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        foreach (var raw in messages)
        {
            using var message = JsonDocument.Parse(raw);
            var type = message.RootElement.GetProperty("type").GetString();
            if (type is "stdout" or "stderr" && message.RootElement.TryGetProperty("data", out var data))
            {
                (type == "stdout" ? stdout : stderr).Append(data.GetString());
                continue;
            }

            Flush();
            joined.Add(System.Text.RegularExpressions.Regex.Replace(raw, "\"(time_ms|memory_bytes)\":\\d+", "\"$1\":0"));
        }

        Flush();
        return joined;

        void Flush()
        {
            foreach (var (stream, text) in new[] { ("stdout", stdout), ("stderr", stderr) })
            {
                if (text.Length > 0)
                {
                    joined.Add($"{stream}:{text}");
                    text.Clear();
                }
            }
        }
    }

    /// <summary>What the seed's xterm shows (with <c>convertEol</c>, so <c>\r\n</c> reads as <c>\n</c>), following its message handler.</summary>
    private sealed class SeedTerminal(RunnerTestClient client)
    {
        private readonly StringBuilder _screen = new();
        private int _shown;

        public string Screen => _screen.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);

        /// <summary>The seed's onData: Enter prints a newline locally; every key goes out as its own input message.</summary>
        public async Task TypeAsync(string key)
        {
            if (key is "\r" or "\n")
            {
                _screen.Append("\r\n");
            }

            await client.SendInputAsync(key);
        }

        public async Task ShowUntilAsync(string screen)
        {
            while (!Screen.EndsWith(screen, StringComparison.Ordinal))
            {
                _ = await client.ReceiveAsync() ?? throw new Xunit.Sdk.XunitException($"closed before the screen showed '{screen}': {Screen}");
                ShowReceived();
            }
        }

        public async Task ShowToEndAsync()
        {
            while (await client.ReceiveAsync() is not null)
            {
                ShowReceived();
            }
        }

        private void ShowReceived()
        {
            for (; _shown < client.Received.Count; _shown++)
            {
                var message = client.Received[_shown];
                var data = message.TryGetProperty("data", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : string.Empty;
                switch (message.GetProperty("type").GetString())
                {
                    case "compile_error":
                        _screen.Append(message.GetProperty("stderr").GetString()).Append("\r\n");
                        break;
                    case "echo" or "stdout" or "stderr":
                        _screen.Append(data);
                        break;
                    case "exit":
                        _screen.Append(ExitLine).Append(message.GetProperty("return_code").GetRawText()).Append("\r\n");
                        break;
                }
            }
        }
    }
}
