using IrisIde.Web.History;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace IrisIde.Web.Components.Live;

/// <summary>
/// One live run, watched read-only. The page checks who may watch before it shows anything (a run one may not
/// watch and one that does not exist look the same); the terminal's own hub stream checks again.
/// </summary>
public sealed partial class LiveWatchPage
{
    private LiveRunRow? _run;
    private bool _checked;
    private bool _isAdmin;
    private string? _endResult;

    [Parameter]
    public string RunId { get; set; } = string.Empty;

    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    private LiveRuns Live { get; set; } = default!;

    [Inject]
    private LiveWatchPolicy Policy { get; set; } = default!;

    [Inject]
    private IServiceScopeFactory Scopes { get; set; } = default!;

    [Inject]
    private LiveRunEnding Ending { get; set; } = default!;

    protected override async Task OnParametersSetAsync()
    {
        _run = null;
        var user = (await AuthenticationState).User;
        _isAdmin = user.IsInRole(IrisIde.Web.Accounts.IrisRoles.Admin);
        if (Guid.TryParse(RunId, out var id) && Live.Find(id) is { } run && await Policy.MayWatchAsync(user, run.Info, CancellationToken.None))
        {
            _run = (await LiveRunRow.DescribeAsync(Scopes, [run], CancellationToken.None))[0];
        }

        _checked = true;
    }

    /// <summary>An admin ends the session (any surface); the run's own exit then ends the watch.</summary>
    private async Task EndAsync()
    {
        if (_run is null)
        {
            return;
        }

        var user = (await AuthenticationState).User;
        _endResult = Ending.End(user, _run.RunId) ? "The session was ended." : "The session is over already.";
    }
}
