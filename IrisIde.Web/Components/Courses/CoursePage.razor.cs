using System.ComponentModel.DataAnnotations;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Components.Courses;

/// <summary>
/// One course. Members see the course, its languages and limits and their role; teaching assistants also the
/// roster; instructors and admins manage it: roles, removal, roster import, join code, name/code/term, settings,
/// archive and un-archive, course tokens. Someone who is neither a member nor an admin gets 404, exactly as for an id that does not exist, and
/// every action is checked again by <see cref="CourseService"/>, so a forged POST changes nothing.
/// </summary>
public sealed partial class CoursePage
{
    private CourseView? _view;
    private IReadOnlyList<CourseMemberView>? _roster;
    private CourseActor? _actor;
    private string? _error;
    private string? _notice;
    private string? _newToken;
    private RosterImportResult? _import;

    [Parameter]
    public Guid Id { get; set; }

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "course-action")]
    private CommandForm Action { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "member-action")]
    private CommandForm Member { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "roster-import")]
    private RosterForm Roster { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "course-settings")]
    private SettingsForm Settings { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "course-details")]
    private DetailsForm Details { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "course-token")]
    private TokenForm NewToken { get; set; } = default!;

    [Inject]
    private CourseService Service { get; set; } = default!;

    [Inject]
    private AccessTokenService Tokens { get; set; } = default!;

    [Inject]
    private UserManager<IrisUser> Users { get; set; } = default!;

    [Inject]
    private IOptions<AccessTokenOptions> TokenOptions { get; set; } = default!;

    [Inject]
    private NavigationManager Navigation { get; set; } = default!;

    [Inject]
    private IOptions<HistoryOptions> History { get; set; } = default!;

    private bool CanEditRoster => _view is { MayManage: true, Course.IsArchived: false };

    private CancellationToken Aborted => HttpContext.RequestAborted;

    protected override async Task OnInitializedAsync()
    {
        Action ??= new();
        Member ??= new();
        Roster ??= new();
        NewToken ??= new() { ExpiresDays = TokenOptions.Value.DefaultExpiryDays };
        _actor = CourseActor.Of(HttpContext.User);
        await LoadAsync();
        if (_view is null)
        {
            Navigation.NotFound();
            return;
        }

        Settings ??= SettingsForm.From(_view.Course);
        Details ??= DetailsForm.From(_view.Course);
    }

    private async Task CourseActionAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        var result = Action.Command switch
        {
            "regenerate" => await Service.RegenerateJoinCodeAsync(_actor, Id, Aborted),
            "archive" => await Service.ArchiveAsync(_actor, Id, Aborted),
            _ => CourseResult.Fail("unknown action."),
        };
        Show(result, Action.Command == "archive" ? "The course is archived: it is read-only now." : "New join code: the old one no longer works.");
        await LoadAsync();
    }

    private async Task UnarchiveAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        var result = await Service.UnarchiveAsync(_actor, Id, Aborted);
        Show(result, "The course is active again: it takes joins and runs.");
        await LoadAsync();
        if (result.Succeeded && _view is not null)
        {
            // The forms of an active course appear again; they start from the course as saved.
            Settings = SettingsForm.From(_view.Course);
            Details = DetailsForm.From(_view.Course);
        }
    }

    private async Task SaveDetailsAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        var result = await Service.UpdateAsync(_actor, Id, Details.Name, Details.Code, Details.Term, Aborted);
        Show(result, "Saved the course's name, code and term.");
        await LoadAsync();
        if (result.Succeeded && _view is not null)
        {
            Details = DetailsForm.From(_view.Course);
        }
    }

    private async Task MemberActionAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        // "command:role:userId", the value of the pressed button.
        var parts = (Member.Command ?? "").Split(':', 3);
        var (command, role, userId) = parts.Length == 3 ? (parts[0], parts[1], parts[2]) : ("", "", "");
        var result = command switch
        {
            "role" when Enum.TryParse<CourseRole>(role, ignoreCase: false, out var parsed) && Enum.IsDefined(parsed) =>
                await Service.SetRoleAsync(_actor, Id, userId, parsed, Aborted),
            "role" => CourseResult.Fail($"unknown course role '{role}'."),
            "remove" => await Service.RemoveAsync(_actor, Id, userId, Aborted),
            _ => CourseResult.Fail("unknown action."),
        };
        Show(result, command == "remove" ? "Removed from the course." : $"Role changed to {role}.");
        await LoadAsync();
    }

    private async Task ImportAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        var csv = Roster.Csv;
        if (HttpContext.Request.HasFormContentType && HttpContext.Request.Form.Files.GetFile("rosterFile") is { Length: > 0 } file)
        {
            if (file.Length > CourseService.MaxRosterBytes)
            {
                _error = $"Could not import: the roster file is too large: at most {CourseService.MaxRosterBytes / 1024} KiB.";
                return;
            }

            using var reader = new StreamReader(file.OpenReadStream());
            csv = await reader.ReadToEndAsync(Aborted);
        }

        var result = await Service.ImportRosterAsync(_actor, Id, csv, Aborted);
        if (result.Error is not null)
        {
            _error = $"Could not import: {result.Error}";
            return;
        }

        _import = result;
        _notice = $"Added {result.Added.Count} students; {result.AlreadyMembers.Count} were members already; {result.UnknownEmails.Count} emails have no account; {result.BadRows.Count} lines skipped.";
        await LoadAsync();
    }

    private async Task SaveSettingsAsync()
    {
        if (_actor is null || _view is null)
        {
            return;
        }

        var languages = (Settings.Languages ?? "").Split([' ', ','], StringSplitOptions.RemoveEmptyEntries);
        var memory = Settings.MemoryMiB is { } mib ? (long?)Math.Round(mib * 1024 * 1024) : null;
        var result = await Service.UpdateSettingsAsync(_actor, Id, new CourseSettings(languages, Settings.WallSeconds, Settings.CpuSeconds, memory, Settings.RunsPerMinute, Settings.MaxSessions, Settings.KeepRunsDays), Aborted);
        Show(result, "Saved; limits above the server's maxima were lowered to them.");
        await LoadAsync();
        if (result.Succeeded)
        {
            Settings = SettingsForm.From(_view.Course);
        }
    }

    private async Task CreateTokenAsync()
    {
        if (_actor is null || _view is not { MayManage: true, Course.IsArchived: false } || _view.Role != CourseRole.Instructor)
        {
            _error = "Could not create the token: only the course's instructors create course tokens (an admin joins the course as instructor first).";
            return;
        }

        if (await Users.GetUserAsync(HttpContext.User) is not { } user)
        {
            _error = "Your account was not found; sign in again.";
            return;
        }

        List<string> scopes = NewToken.RunsRead ? [AccessTokenScopes.Runs, AccessTokenScopes.RunsRead] : [AccessTokenScopes.Runs];
        var result = await Tokens.CreateAsync(user, NewToken.Name, scopes, NewToken.ExpiresDays, user.Id, Aborted, courseId: Id);
        if (result.Created is not { } created)
        {
            _error = $"Could not create the token: {result.Error}";
            return;
        }

        _newToken = created.Token;
        _notice = $"Created course token '{created.Stored.Name}' ({created.Stored.Scopes}), expiring {CourseText.Date(created.Stored.ExpiresAtUtc)}. It is listed (and revoked) on your tokens page.";
        NewToken = new() { ExpiresDays = TokenOptions.Value.DefaultExpiryDays };
    }

    private void Show(CourseResult result, string success)
    {
        if (result.Succeeded)
        {
            _notice = success;
        }
        else
        {
            _error = $"Could not do that: {result.Error}";
        }
    }

    private async Task LoadAsync()
    {
        if (_actor is null)
        {
            _view = null;
            return;
        }

        _view = await Service.FindAsync(_actor, Id, Aborted);
        _roster = _view is { MaySeeRoster: true } ? await Service.RosterAsync(_actor, Id, Aborted) : null;
    }

    private sealed class CommandForm
    {
        public string? Command { get; set; }
    }

    private sealed class RosterForm
    {
        public string? Csv { get; set; }
    }

    private sealed class SettingsForm
    {
        public string? Languages { get; set; }

        public double? WallSeconds { get; set; }

        public double? CpuSeconds { get; set; }

        public double? MemoryMiB { get; set; }

        public int? RunsPerMinute { get; set; }

        public int? MaxSessions { get; set; }

        public int? KeepRunsDays { get; set; }

        public static SettingsForm From(Course course) => new()
        {
            Languages = course.Languages,
            WallSeconds = course.WallSeconds,
            CpuSeconds = course.CpuSeconds,
            MemoryMiB = course.MemoryBytes is { } bytes ? bytes / (1024.0 * 1024.0) : null,
            RunsPerMinute = course.RunsPerMinutePerUser,
            MaxSessions = course.MaxSessionsPerUser,
            KeepRunsDays = course.HistoryRetentionDays,
        };
    }

    private sealed class DetailsForm
    {
        [Required(ErrorMessage = "Name the course.")]
        public string Name { get; set; } = "";

        [Required(ErrorMessage = "Give the course's code (CS101).")]
        public string Code { get; set; } = "";

        [Required(ErrorMessage = "Give the term (Fall 2026).")]
        public string Term { get; set; } = "";

        public static DetailsForm From(Course course) => new() { Name = course.Name, Code = course.Code, Term = course.Term };
    }

    private sealed class TokenForm
    {
        [Required(ErrorMessage = "Name the token (what uses it).")]
        [MaxLength(AccessToken.MaxNameLength)]
        public string Name { get; set; } = "";

        [Range(1, AccessTokenOptionsValidator.CeilingDays, ErrorMessage = "Pick a number of days.")]
        public int ExpiresDays { get; set; }

        public bool RunsRead { get; set; } = true;
    }
}
