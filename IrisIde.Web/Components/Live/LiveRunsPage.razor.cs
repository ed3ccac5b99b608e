using IrisIde.Web.Accounts;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.EntityFrameworkCore;

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
        var userIds = runs.Select(r => r.Info.Owner).OfType<string>().Distinct().ToList();
        var courseIds = runs.Select(r => Guid.TryParse(r.Info.Course, out var id) ? id : (Guid?)null).OfType<Guid>().Distinct().ToList();
        var emails = await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.Email ?? u.Id, cancellationToken);
        var courses = await db.Courses.AsNoTracking().Where(c => courseIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id.ToString(), c => $"{c.Code} {c.Name}", cancellationToken);
        return [.. runs.Select(r => new LiveRunRow(
            r.Info.RunId,
            r.Info.Owner is { } owner && emails.TryGetValue(owner, out var email) ? email : "anonymous",
            r.Info.Course is { } course && courses.TryGetValue(course, out var name) ? name : "—",
            r.Info.Language,
            r.Info.Surface == "ide" ? "IDE" : "/ws",
            r.Info.StartedAtUtc,
            r.Watchers))];
    }
}
