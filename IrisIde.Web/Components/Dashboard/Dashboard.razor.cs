using System.Globalization;
using IrisIde.Web.Dashboard;
using IrisIde.Web.History;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.JSInterop;

namespace IrisIde.Web.Components.Dashboard;

/// <summary>
/// The admin dashboard: <see cref="AdminDashboard"/>'s figures, pushed into this circuit as they are taken (the
/// browser never polls), the last hour charted with uPlot, and the sessions with their actions.
/// </summary>
public sealed partial class Dashboard
{
    private readonly CancellationTokenSource _disposed = new();
    private IDisposable? _viewer;
    private DashboardSnapshot? _snapshot;
    private string? _endResult;
    private ElementReference _charts;
    private bool _creatingChart;
    private IJSObjectReference? _module;
    private IJSObjectReference? _chart;

    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    private AdminDashboard Figures { get; set; } = default!;

    [Inject]
    private LiveRunEnding Ending { get; set; } = default!;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    protected override void OnInitialized()
    {
        _snapshot = Figures.Latest;
        Figures.Updated += OnUpdated;
        Figures.Charted += OnCharted;
        _viewer = Figures.Open();
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (_chart is not null || _creatingChart || _snapshot is null || _disposed.IsCancellationRequested)
        {
            return;
        }

        // The chart's element exists from the first render that had figures. A render while the charts are being made
        // (a new point, the live list) must not make a second set beside them (CI: two "chart-sessions").
        _creatingChart = true;
        try
        {
            _module ??= await JS.InvokeAsync<IJSObjectReference>("import", _disposed.Token, "./Components/Dashboard/Dashboard.razor.js");
            _chart = await _module.InvokeAsync<IJSObjectReference>("createCharts", _disposed.Token, _charts, Series(Figures.Points));
        }
        finally
        {
            _creatingChart = false;
        }
    }

    private static object Series(IReadOnlyList<DashboardPoint> points) => new
    {
        t = points.Select(p => new DateTimeOffset(p.AtUtc).ToUnixTimeSeconds()).ToArray(),
        sessions = points.Select(p => p.Sessions).ToArray(),
        queue = points.Select(p => p.QueueDepth).ToArray(),
        runs = points.Select(p => p.RunsLastMinute).ToArray(),
    };

    private void OnUpdated(DashboardSnapshot snapshot) => _ = InvokeAsync(() =>
    {
        _snapshot = snapshot;
        StateHasChanged();
    });

    private void OnCharted(DashboardPoint point) => _ = InvokeAsync(async () =>
    {
        if (_chart is { } chart && !_disposed.IsCancellationRequested)
        {
            try
            {
                await chart.InvokeVoidAsync("update", _disposed.Token, Series(Figures.Points));
            }
            catch (Exception e) when (e is JSDisconnectedException or OperationCanceledException or TaskCanceledException)
            {
                // The circuit is going: nothing to draw on.
            }
        }
    });

    private async Task End(Guid runId)
    {
        var user = (await AuthenticationState).User;
        _endResult = Ending.End(user, runId) ? "The session was ended." : "That session is over already, or runs on another replica.";
    }

    /// <summary>Under a second in whole milliseconds (a warm start is a few), else seconds with two decimals.</summary>
    internal static string Seconds(double? seconds) => seconds switch
    {
        null => "—",
        < 1 and var s => (s * 1000).ToString("0 'ms'", CultureInfo.InvariantCulture),
        var s => s.Value.ToString("0.00 's'", CultureInfo.InvariantCulture),
    };

    public async ValueTask DisposeAsync()
    {
        Figures.Updated -= OnUpdated;
        Figures.Charted -= OnCharted;
        _viewer?.Dispose();
        await _disposed.CancelAsync();
        try
        {
            if (_chart is not null)
            {
                await _chart.InvokeVoidAsync("dispose");
            }
        }
        catch (JSDisconnectedException)
        {
        }

        foreach (var reference in new[] { _chart, _module })
        {
            if (reference is null)
            {
                continue;
            }

            try
            {
                await reference.DisposeAsync();
            }
            catch (JSDisconnectedException)
            {
            }
        }

        _disposed.Dispose();
    }
}
