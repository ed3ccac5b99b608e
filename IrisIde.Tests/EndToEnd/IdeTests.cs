namespace IrisIde.Tests.EndToEnd;

/// <summary>A student's everyday use of the IDE in a real browser against the real app and sandbox.</summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class IdeTests(IdeFixture fixture)
{
    private const int MonacoErrorSeverity = 8;

    [Fact]
    public async Task Python_program_asks_for_a_name_typed_in_the_terminal_and_greets_it()
    {
        await using var ide = await fixture.OpenIdeAsync();

        await ide.RunAsync("python", "name = input('What is your name? ')\nprint(f'Hello, {name}!')\n");
        await ide.WaitForTerminalTextAsync("What is your name?");
        await ide.TypeInTerminalAsync("Ada Lovelace\n");
        await ide.WaitForTerminalTextAsync("Hello, Ada Lovelace!");
        var status = await ide.WaitForExitAsync();

        Assert.Contains("Exited with code 0", status, StringComparison.Ordinal);
        Assert.Contains("ok", status, StringComparison.Ordinal);
        // The typed line was echoed locally, once.
        var terminal = await ide.TerminalTextAsync();
        Assert.Contains("What is your name? Ada Lovelace", terminal, StringComparison.Ordinal);
        Assert.Single(AllIndexesOf(terminal, "Ada Lovelace!"));
    }

    [Fact]
    public async Task C_program_with_a_compile_error_shows_the_error_in_the_terminal_and_a_marker_on_its_line()
    {
        await using var ide = await fixture.OpenIdeAsync();
        const string source = """
            #include <stdio.h>

            int main(void) {
                int x = undeclared_thing + 1;
                printf("%d\n", x);
                return 0;
            }

            """;

        await ide.RunAsync("c", source);
        var status = await ide.WaitForExitAsync();
        await ide.WaitForTerminalTextAsync("undeclared_thing");

        Assert.Contains("compile_error", status, StringComparison.Ordinal);
        Assert.Contains("error", await ide.TerminalTextAsync(), StringComparison.Ordinal);
        await ide.WaitUntilAsync(async () => (await ide.MarkersAsync()).Count > 0, "a marker in the editor");
        var marker = Assert.Single(await ide.MarkersAsync(), m => m.Severity == MonacoErrorSeverity);
        Assert.Equal(4, marker.Line);
        Assert.Contains("undeclared", marker.Message, StringComparison.Ordinal);
        // And the user sees it: a red squiggle is drawn in the editor.
        await ide.WaitUntilAsync(
            async () => await ide.EvaluateAsync<int>("() => document.querySelectorAll('[data-testid=editor] .squiggly-error').length") > 0,
            "a squiggly-error decoration in the editor");
    }

    [Fact]
    public async Task Java_hello_world_compiles_runs_and_prints()
    {
        await using var ide = await fixture.OpenIdeAsync();
        const string source = """
            public class Main {
                public static void main(String[] args) {
                    System.out.println("Hello from Java " + (6 * 7));
                }
            }

            """;

        await ide.RunAsync("java", source);
        await ide.WaitForTerminalTextAsync("Hello from Java 42");
        var status = await ide.WaitForExitAsync();

        Assert.Contains("Exited with code 0", status, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_ends_an_infinite_loop_and_leaves_no_process_behind()
    {
        await using var ide = await fixture.OpenIdeAsync();

        await ide.RunAsync("python", "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.1)\n");
        await ide.WaitForTerminalTextAsync("tick");
        Assert.Equal("running", await ide.PhaseAsync());
        await Support.ReadySandboxes.DiscardAsync(fixture.App.Services);
        Assert.NotEmpty(Support.HostProcesses.OwnedBy(IdeFixture.SandboxUid, IdeFixture.SandboxUidCount));
        await ide.StopButton.ClickAsync().WaitAsync(IdePage.Timeout);
        var status = await ide.WaitForExitAsync();

        Assert.Contains("killed", status, StringComparison.Ordinal);
        Support.HostProcesses.AssertNoneLeft(await Support.ReadySandboxes.RemainingAfterAsync(fixture.App.Services, IdeFixture.SandboxUid, TimeSpan.FromSeconds(5), IdeFixture.SandboxUidCount));
        Assert.True(await ide.RunButton.IsEnabledAsync().WaitAsync(IdePage.Timeout), "Run is enabled again after Stop");
    }

    [Fact]
    public async Task Ctrl_Enter_in_the_editor_runs_the_program()
    {
        await using var ide = await fixture.OpenIdeAsync();
        await ide.SelectLanguageAsync("python");
        await ide.SetCodeAsync("print('run by keyboard', 6 * 7)\n");

        await ide.Page.Locator("[data-testid=editor] .monaco-editor textarea").FocusAsync().WaitAsync(IdePage.Timeout);
        await ide.Page.Keyboard.PressAsync("Control+Enter").WaitAsync(IdePage.Timeout);
        await ide.WaitForTerminalTextAsync("run by keyboard 42");
        await ide.WaitForExitAsync();

        // Monaco's own Ctrl+Enter (insert a line) did not also happen.
        Assert.Equal("print('run by keyboard', 6 * 7)\n", await ide.GetCodeAsync());
    }

    [Fact]
    public async Task Switching_language_offers_its_template_and_keeps_each_languages_edits_across_a_reload()
    {
        await using var ide = await fixture.OpenIdeAsync();
        await ide.SelectLanguageAsync("python");
        await ide.SetCodeAsync("print('my python work')\n");

        await ide.SelectLanguageAsync("c");
        var cTemplate = await ide.GetCodeAsync();
        Assert.Contains("main", cTemplate, StringComparison.Ordinal);
        Assert.DoesNotContain("my python work", cTemplate, StringComparison.Ordinal);

        // An edit typed by hand in C, then back to Python: both buffers are kept.
        await ide.Page.Locator("[data-testid=editor] .monaco-editor textarea").FocusAsync().WaitAsync(IdePage.Timeout);
        await ide.Page.Keyboard.PressAsync("Control+End").WaitAsync(IdePage.Timeout);
        await ide.Page.Keyboard.TypeAsync("// my c work").WaitAsync(IdePage.Timeout);
        await ide.SelectLanguageAsync("python");
        Assert.Equal("print('my python work')\n", await ide.GetCodeAsync());
        await ide.SelectLanguageAsync("c");
        Assert.EndsWith("// my c work", (await ide.GetCodeAsync()).TrimEnd(), StringComparison.Ordinal);

        // They live in the browser's local storage: a reload brings back the language and its buffer.
        await ide.Page.ReloadAsync().WaitAsync(IdePage.Timeout);
        await ide.WaitUntilReadyAsync();
        await ide.WaitUntilAsync(async () => await ide.LanguageSelect.InputValueAsync().WaitAsync(IdePage.Timeout) == "c", "the remembered language");
        await ide.WaitUntilAsync(async () => (await ide.GetCodeAsync()).TrimEnd().EndsWith("// my c work", StringComparison.Ordinal), "the C buffer after a reload");
        await ide.SelectLanguageAsync("python");
        Assert.Equal("print('my python work')\n", await ide.GetCodeAsync());
    }

    private static List<int> AllIndexesOf(string text, string value)
    {
        var found = new List<int>();
        for (var i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + 1, StringComparison.Ordinal))
        {
            found.Add(i);
        }

        return found;
    }
}
