using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace IrisIde.Web.Components.Live;

/// <summary>
/// A read-only terminal showing a live run: its JS module opens its own connection to the execution hub and
/// streams <c>WatchRun</c>, so the run's output never passes through the Blazor circuit.
/// </summary>
public sealed partial class LiveTerminal : IAsyncDisposable
{
    private ElementReference _container;
    private ElementReference _status;
    private IJSObjectReference? _module;
    private IJSObjectReference? _handle;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Parameter]
    [EditorRequired]
    public Guid RunId { get; set; }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        _module = await JS.InvokeAsync<IJSObjectReference>("import", "./Components/Live/LiveTerminal.razor.js");
        _handle = await _module.InvokeAsync<IJSObjectReference>("attach", _container, _status, new
        {
            hubUrl = Navigation.ToAbsoluteUri("hubs/execution").ToString(),
            runId = RunId.ToString(),
        });
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_handle is not null)
            {
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
            // The page is gone, and its hub connection with it: the student is told one fewer watches.
        }
    }
}
