using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace IrisIde.Web.Components.Runs;

/// <summary>
/// Plays a run's transcript in a terminal with its original timing (play/pause, 1×/2×/8×, seek). The
/// browser fetches the transcript itself from <c>GET /api/v1/runs/{id}/transcript</c> with the viewer's
/// own sign-in, so the same check decides what the API and this player may show, and a long transcript
/// never passes through the Blazor circuit.
/// </summary>
public sealed partial class TranscriptReplay : IAsyncDisposable
{
    private ElementReference _controls;
    private ElementReference _terminal;
    private IJSObjectReference? _module;
    private IJSObjectReference? _handle;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Parameter]
    [EditorRequired]
    public Guid RunId { get; set; }

    [Parameter]
    public string Theme { get; set; } = "dark";

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        _module = await JS.InvokeAsync<IJSObjectReference>("import", "./Components/Runs/TranscriptReplay.razor.js");
        _handle = await _module.InvokeAsync<IJSObjectReference>("attach", _terminal, _controls, new
        {
            transcriptUrl = Navigation.ToAbsoluteUri($"api/v1/runs/{RunId}/transcript").ToString(),
            theme = Theme,
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
            // The page is gone, and its timers with it.
        }
    }
}
