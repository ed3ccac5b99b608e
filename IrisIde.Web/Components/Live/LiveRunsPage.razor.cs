using IrisIde.Web.Accounts;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;

namespace IrisIde.Web.Components.Live;

/// <summary>"Live runs": the running sessions the signed-in user may watch (their courses' runs; every run for admins).</summary>
public sealed partial class LiveRunsPage
{
    private IReadOnlyList<LiveRunRow>? _runs;
    private bool _isAdmin;

    [CascadingParameter]
    private Task<AuthenticationState> AuthenticationState { get; set; } = default!;

    [Inject]
    private LiveRuns Live { get; set; } = default!;

    [Inject]
    private LiveWatchPolicy Policy { get; set; } = default!;

    [Inject]
    private IServiceScopeFactory Scopes { get; set; } = default!;

    protected override Task OnInitializedAsync() => LoadAsync();

    private async Task LoadAsync()
    {
        var user = (await AuthenticationState).User;
        _isAdmin = user.IsInRole(IrisRoles.Admin);
        var runs = await Policy.WatchableAsync(user, Live, CancellationToken.None);
        _runs = await LiveRunRow.DescribeAsync(Scopes, runs, CancellationToken.None);
    }
}

/// <summary>A live run as the pages show it: the student and course by name, not by id.</summary>
internal sealed record LiveRunRow(Guid RunId, string Student, string Course, string Language, string Surface, DateTime StartedAtUtc, int Watchers)
{
    /// <summary>Names for <paramref name="runs"/>, read in a scope of their own (a circuit outlives any one query).</summary>
    public static async Task<IReadOnlyList<LiveRunRow>> DescribeAsync(IServiceScopeFactory scopes, IReadOnlyList<LiveRun> runs, CancellationToken cancellationToken)
    {
        if (runs.Count == 0)
        {
            return [];
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        var names = await RunNames.LookUpAsync(db, runs.Select(r => r.Info.Owner), runs.Select(r => r.Info.Course), cancellationToken);
        return [.. runs.Select(r => new LiveRunRow(
            r.Info.RunId,
            names.Email(r.Info.Owner) ?? "anonymous",
            names.Course(r.Info.Course) is { } course ? $"{course.Code} {course.Name}" : "—",
            r.Info.Language,
            r.Info.Surface == "ide" ? "IDE" : "/ws",
            r.Info.StartedAtUtc,
            r.Watchers))];
    }
}
