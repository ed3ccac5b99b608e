using IrisIde.Web.RunViews;
using IrisIde.Web.Security;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Runs;

/// <summary>
/// One run: its result, its files (read-only) and its terminal replayed. Whoever may not see it (by
/// <see cref="IrisIde.Web.History.RunVisibility"/>, the same rule as the API's) gets the 404 of an id that does
/// not exist, so a guessed id tells nothing.
/// </summary>
public sealed partial class RunPage
{
    private RunDetails? _details;
    private bool _isOwner;

    [Parameter]
    public Guid Id { get; set; }

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [Inject]
    private RunViewReader Reader { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        _details = await Reader.DetailsAsync(HttpContext.User, Id, HttpContext.RequestAborted);
        if (_details is null)
        {
            Navigation.NotFound();
            return;
        }

        _isOwner = _details.Run.OwnerId is { } owner && owner == RunAccess.UserId(HttpContext.User);
    }
}
