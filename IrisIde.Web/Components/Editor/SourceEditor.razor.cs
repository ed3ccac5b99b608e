using BlazorMonaco.Editor;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace IrisIde.Web.Components.Editor;

/// <summary>
/// The Monaco editor (BlazorMonaco) with one buffer per language kept in the browser's local storage.
/// The source never crosses the circuit: <see cref="Handle"/> is the JS editor object the terminal
/// module reads it from when a run starts.
/// </summary>
public sealed partial class SourceEditor : IAsyncDisposable
{
    private const string EditorId = "iris-code-editor";

    private IJSObjectReference? _module;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    /// <summary>Raised once the editor exists in the browser and <see cref="Handle"/> is set.</summary>
    [Parameter]
    public EventCallback OnReady { get; set; }

    /// <summary>The editor module's handle (<c>SourceEditor.razor.js</c>), null until <see cref="OnReady"/>.</summary>
    public IJSObjectReference? Handle { get; private set; }

    /// <summary>Shows the language's buffer: the user's last edits for it, or its template the first time.</summary>
    public async Task ShowLanguageAsync(string languageId, string monacoId, string template, CancellationToken cancellationToken)
    {
        if (Handle is not null)
        {
            await Handle.InvokeVoidAsync("showLanguage", cancellationToken, languageId, monacoId, template);
        }
    }

    /// <summary>Replaces the current language's buffer with its template.</summary>
    public async Task ResetToTemplateAsync(string template, CancellationToken cancellationToken)
    {
        if (Handle is not null)
        {
            await Handle.InvokeVoidAsync("resetToTemplate", cancellationToken, template);
        }
    }

    /// <summary>Replaces the current language's buffer with <paramref name="source"/> (a run opened in the editor); undo brings the old text back.</summary>
    public async Task ReplaceSourceAsync(string source, CancellationToken cancellationToken)
    {
        if (Handle is not null)
        {
            await Handle.InvokeVoidAsync("replaceSource", cancellationToken, source);
        }
    }

    public async Task SetThemeAsync(string theme, CancellationToken cancellationToken)
    {
        if (Handle is not null)
        {
            await Handle.InvokeVoidAsync("setTheme", cancellationToken, theme);
        }
    }

    private static StandaloneEditorConstructionOptions CreateOptions(StandaloneCodeEditor editor) => new()
    {
        AutomaticLayout = true,
        Language = "plaintext",
        Value = string.Empty,
        Theme = "vs-dark",
        FontSize = 14,
        Minimap = new EditorMinimapOptions { Enabled = false },
        ScrollBeyondLastLine = false,
        TabSize = 4,
        AriaLabel = "Source code editor",
    };

    private async Task OnDidInitAsync()
    {
        _module = await JS.InvokeAsync<IJSObjectReference>("import", "./Components/Editor/SourceEditor.razor.js");
        Handle = await _module.InvokeAsync<IJSObjectReference>("attach", EditorId);
        await OnReady.InvokeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Handle is not null)
            {
                await Handle.InvokeVoidAsync("dispose");
                await Handle.DisposeAsync();
            }

            if (_module is not null)
            {
                await _module.DisposeAsync();
            }
        }
        catch (JSDisconnectedException)
        {
            // The circuit is gone and the page with it: nothing left to clean up in the browser.
        }
    }
}
