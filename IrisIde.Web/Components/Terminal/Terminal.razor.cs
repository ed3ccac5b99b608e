using IrisIde.Execution.Runs;
using IrisIde.Web.Hubs;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;
using Microsoft.JSInterop;

namespace IrisIde.Web.Components.Terminal;

/// <summary>
/// The xterm.js terminal. Its JS module talks to the execution hub itself: program output goes
/// straight from the hub into xterm, and only status events come back here.
/// </summary>
public sealed partial class Terminal : IAsyncDisposable
{
    private ElementReference _container;
    private IJSObjectReference? _module;
    private IJSObjectReference? _handle;
    private DotNetObjectReference<Terminal>? _self;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IOptions<ExecutionHubOptions> HubOptions { get; set; } = default!;

    [Inject]
    private IOptions<ExecutionOptions> ExecutionOptions { get; set; } = default!;

    /// <summary>Status events of the current run (never its output).</summary>
    [Parameter]
    public EventCallback<RunEvent> OnRunEvent { get; set; }

    /// <summary>Raised once the terminal exists in the browser.</summary>
    [Parameter]
    public EventCallback OnReady { get; set; }

    [Parameter]
    public string Theme { get; set; } = "dark";

    public bool IsReady => _handle is not null;

    /// <summary>Starts a run of the editor's source; the terminal module reads it from the editor handle.</summary>
    /// <param name="course">The id of the course the run belongs to; null for none (the request then has no course field).</param>
    public async Task RunAsync(IJSObjectReference editor, string languageId, string fileName, string? course, CancellationToken cancellationToken)
    {
        if (_handle is null)
        {
            return;
        }

        if (course is null)
        {
            await _handle.InvokeVoidAsync("run", cancellationToken, editor, languageId, fileName);
        }
        else
        {
            await _handle.InvokeVoidAsync("run", cancellationToken, editor, languageId, fileName, course);
        }
    }

    /// <summary>Stops the run (verdict killed).</summary>
    public Task StopAsync(CancellationToken cancellationToken) => InvokeHandleAsync("stop", cancellationToken);

    public Task FocusAsync(CancellationToken cancellationToken) => InvokeHandleAsync("focus", cancellationToken);

    public Task SetThemeAsync(string theme, CancellationToken cancellationToken) => InvokeHandleAsync("setTheme", cancellationToken, theme);

    [JSInvokable]
    public Task ReportRunEvent(RunEvent runEvent) => OnRunEvent.InvokeAsync(runEvent);

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        _self = DotNetObjectReference.Create(this);
        _module = await JS.InvokeAsync<IJSObjectReference>("import", "./Components/Terminal/Terminal.razor.js");
        _handle = await _module.InvokeAsync<IJSObjectReference>("attach", _container, _self, new
        {
            hubUrl = Navigation.ToAbsoluteUri("hubs/execution").ToString(),
            // Checked in the browser too, so an over-size source gets a clear message before anything is sent.
            maxSourceBytes = ExecutionOptions.Value.MaxSourceBytesPerFile,
            // The hub closes a connection silent for ClientTimeoutSeconds (8 s by default, so a vanished
            // tab's run stops quickly): ping three times within that window.
            keepAliveMs = Math.Max(1000, (int)(HubOptions.Value.ClientTimeoutSeconds * 1000 / 3)),
            theme = Theme,
        });
        await OnReady.InvokeAsync();
    }

    private async Task InvokeHandleAsync(string method, CancellationToken cancellationToken, params object?[] args)
    {
        if (_handle is not null)
        {
            await _handle.InvokeVoidAsync(method, cancellationToken, args);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_handle is not null)
            {
                // Stops a running program and closes the module's own hub connection.
                await _handle.InvokeVoidAsync("dispose");
                await _handle.DisposeAsync();
            }

            if (_module is not null)
            {
                await _module.DisposeAsync();
            }
        }
        catch (JSDisconnectedException)
        {
            // The page is gone; its hub connection closed with it and the hub stopped the run.
        }

        _self?.Dispose();
    }
}
