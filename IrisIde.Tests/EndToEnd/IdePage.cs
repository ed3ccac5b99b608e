using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The IDE page in its own browser context, driven the way a student does: through the
/// <c>data-testid</c> controls, the Monaco editor and the xterm.js terminal.
/// </summary>
public sealed class IdePage : IAsyncDisposable
{
    /// <summary>The longest a single step may take (a Java compile in the sandbox included).</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private const string TerminalRows = "[data-testid=terminal] .xterm-rows";

    private IdePage(IBrowserContext context, IPage page)
    {
        Context = context;
        Page = page;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public ILocator RunButton => Page.GetByTestId("run-button");

    public ILocator StopButton => Page.GetByTestId("stop-button");

    public ILocator LanguageSelect => Page.GetByTestId("language-select");

    public ILocator ThemeToggle => Page.GetByTestId("theme-toggle");

    public ILocator StatusLine => Page.GetByTestId("status-line");

    public ILocator Terminal => Page.GetByTestId("terminal");

    public ILocator ReconnectModal => Page.Locator("#components-reconnect-modal");

    /// <summary>Console errors and uncaught exceptions of the page, for failure messages.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>Opens the IDE at / and waits until it can run: circuit up, editor and terminal ready.</summary>
    public static async Task<IdePage> OpenAsync(IBrowserContext context)
    {
        context.SetDefaultTimeout((float)Timeout.TotalMilliseconds);
        var page = await context.NewPageAsync().WaitAsync(Timeout);
        var ide = Watch(context, page);
        await page.GotoAsync("/").WaitAsync(Timeout);
        await ide.WaitUntilReadyAsync();
        return ide;
    }

    /// <summary>The IDE already open (or about to be) in <paramref name="page"/>, its problems collected from now on.</summary>
    public static IdePage Watch(IBrowserContext context, IPage page)
    {
        var ide = new IdePage(context, page);
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                ide.Problems.Add("console: " + message.Text);
            }
        };
        page.PageError += (_, error) => ide.Problems.Add("page error: " + error);
        page.RequestFailed += (_, request) => ide.Problems.Add($"request failed: {request.Url} {request.Failure}");
        page.Response += (_, response) =>
        {
            if (response.Status >= 400)
            {
                ide.Problems.Add($"HTTP {response.Status}: {response.Url}");
            }
        };
        return ide;
    }

    /// <summary>Waits for the Run button to be enabled, which the page does once editor, terminal and circuit are up.</summary>
    public async Task WaitUntilReadyAsync()
    {
        await WaitUntilAsync(
            async () => await RunButton.IsEnabledAsync().WaitAsync(Timeout)
                && await EvaluateAsync<bool>("() => !!globalThis.monaco?.editor?.getEditors()?.[0]?.getModel()"),
            "the IDE to be ready (Run enabled, Monaco editor up)");
    }

    /// <summary>Picks a language in the picker, as the user does.</summary>
    public async Task SelectLanguageAsync(string languageId)
    {
        // The switch is a round trip through the circuit: wait until the editor shows the chosen
        // language's highlighting, not merely until the <select> changed.
        var monacoId = Execution.Languages.LanguageCatalog.LoadEmbedded().All.Single(l => l.Id == languageId).Monaco;
        await LanguageSelect.SelectOptionAsync(languageId).WaitAsync(Timeout);
        await WaitUntilAsync(
            async () => await EvaluateAsync<string>("() => monaco.editor.getEditors()[0].getModel().getLanguageId()") == monacoId
                && await LanguageSelect.InputValueAsync().WaitAsync(Timeout) == languageId,
            $"the editor to switch to {languageId}");
    }

    /// <summary>Replaces the editor's whole text (through Monaco's API: typing would meet auto-indent and auto-closing).</summary>
    public Task SetCodeAsync(string code) =>
        Page.EvaluateAsync("code => monaco.editor.getEditors()[0].setValue(code)", code).WaitAsync(Timeout);

    public Task<string> GetCodeAsync() => EvaluateAsync<string>("() => monaco.editor.getEditors()[0].getValue()");

    /// <summary>Selects a language, puts the code in the editor and presses Run.</summary>
    public async Task RunAsync(string languageId, string code)
    {
        await SelectLanguageAsync(languageId);
        await SetCodeAsync(code);
        await RunButton.ClickAsync().WaitAsync(Timeout);
    }

    /// <summary>Focuses the terminal and types text as key presses (Enter as "\n").</summary>
    public async Task TypeInTerminalAsync(string text)
    {
        await Terminal.Locator(".xterm-helper-textarea").FocusAsync().WaitAsync(Timeout);
        var lines = text.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length > 0)
            {
                await Page.Keyboard.TypeAsync(lines[i], new() { Delay = 10 }).WaitAsync(Timeout);
            }

            if (i < lines.Length - 1)
            {
                await Page.Keyboard.PressAsync("Enter").WaitAsync(Timeout);
            }
        }
    }

    /// <summary>The terminal's visible rows as text (xterm's DOM renderer; non-breaking spaces made plain).</summary>
    public Task<string> TerminalTextAsync() => EvaluateAsync<string>(
        $"() => (document.querySelector('{TerminalRows}')?.innerText ?? '').replaceAll('\\u00a0', ' ')");

    /// <summary>Waits until the terminal shows <paramref name="text"/>.</summary>
    public Task WaitForTerminalTextAsync(string text, TimeSpan? timeout = null) => WaitUntilAsync(
        async () => (await TerminalTextAsync()).Contains(text, StringComparison.Ordinal),
        $"the terminal to show \"{text}\"",
        timeout);

    /// <summary>The status line's phase: idle, starting, compiling, running, exited or failed.</summary>
    public async Task<string> PhaseAsync() => await StatusLine.GetAttributeAsync("data-phase").WaitAsync(Timeout) ?? string.Empty;

    public async Task<string> StatusTextAsync() => await StatusLine.InnerTextAsync().WaitAsync(Timeout);

    /// <summary>Waits for the status line to reach one of the phases and returns its text.</summary>
    public async Task<string> WaitForPhaseAsync(params string[] phases)
    {
        await WaitUntilAsync(async () => Array.IndexOf(phases, await PhaseAsync()) >= 0, $"the status line to reach {string.Join(" or ", phases)}");
        return await StatusTextAsync();
    }

    /// <summary>The run's end: waits for exited (or failed) and returns the status text.</summary>
    public Task<string> WaitForExitAsync() => WaitForPhaseAsync("exited", "failed");

    /// <summary>Monaco's markers on the editor's model (every owner), as the user sees them.</summary>
    public async Task<IReadOnlyList<Marker>> MarkersAsync()
    {
        var json = await EvaluateAsync<string>(
            "() => JSON.stringify(monaco.editor.getModelMarkers({}).map(m => ({ line: m.startLineNumber, column: m.startColumn, severity: m.severity, message: m.message })))");
        return JsonSerializer.Deserialize<List<Marker>>(json, JsonSerializerOptions.Web) ?? [];
    }

    /// <summary>The page's theme (the html element's data-theme).</summary>
    public Task<string> ThemeAsync() => EvaluateAsync<string>("() => document.documentElement.dataset.theme ?? ''");

    /// <summary>Evaluates a script in the page, bounded by <see cref="Timeout"/>.</summary>
    public Task<T> EvaluateAsync<T>(string script) => Page.EvaluateAsync<T>(script).WaitAsync(Timeout);

    /// <summary>Polls a condition; on timeout fails with what the page showed, to make a failure readable.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeout;
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (await condition().WaitAsync(limit))
            {
                return;
            }

            if (clock.Elapsed > limit)
            {
                throw new TimeoutException(
                    $"Waited {limit.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s for {what}.\n{await DescribeAsync()}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>What the page shows now: status line, terminal, console errors.</summary>
    public async Task<string> DescribeAsync()
    {
        try
        {
            var phase = await PhaseAsync();
            var status = await StatusTextAsync();
            var terminal = await TerminalTextAsync();
            var parts = await EvaluateAsync<string>("""
                () => [
                    'run button ' + (document.querySelector('[data-testid=run-button]')?.disabled ? 'disabled' : 'enabled'),
                    'monaco editors: ' + (globalThis.monaco?.editor?.getEditors()?.length ?? 'no monaco'),
                    'xterm: ' + (document.querySelector('[data-testid=terminal] .xterm') ? 'yes' : 'no'),
                    'blazor: ' + (typeof globalThis.Blazor),
                    'reconnect modal: ' + (document.getElementById('components-reconnect-modal')?.className || 'no class'),
                ].join(', ')
                """);
            return $"status [{phase}]: {status}\npage: {parts}\nterminal:\n{terminal.TrimEnd()}\nproblems:\n{string.Join("\n", Problems)}";
        }
        catch (Exception ex) when (ex is PlaywrightException or TimeoutException)
        {
            return $"(the page could not be read: {ex.Message})\nproblems:\n{string.Join("\n", Problems)}";
        }
    }

    public async ValueTask DisposeAsync() => await Context.CloseAsync().WaitAsync(Timeout);

    public sealed record Marker(int Line, int Column, int Severity, string Message);
}
