using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Components;

namespace IrisIde.Web.Components.Admin;

/// <summary>
/// The admin users page: list, add with a role (a one-time password shown once), change role, disable or
/// enable, reset the password (one-time password shown once). Admins only: the authorization middleware
/// refuses anyone else before the page runs, form POSTs included.
/// </summary>
public sealed partial class Users
{
    private IReadOnlyList<UserSummary> _users = [];
    private string? _error;
    private string? _notice;
    private string? _oneTimePassword;

    [CascadingParameter]
    private HttpContext HttpContext { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "add-user")]
    private NewUserForm NewUser { get; set; } = default!;

    [SupplyParameterFromForm(FormName = "user-action")]
    private UserActionForm Act { get; set; } = default!;

    [Inject]
    private UserAdministration Administration { get; set; } = default!;

    [Inject]
    private ILogger<Users> Logger { get; set; } = default!;

    [Inject]
    private AuditRecorder Audit { get; set; } = default!;

    protected override async Task OnInitializedAsync()
    {
        NewUser ??= new();
        Act ??= new();
        _users = await Administration.ListAsync(HttpContext.RequestAborted);
    }

    private async Task AddAsync()
    {
        var result = await Administration.AddUserAsync(NewUser.Email, NewUser.Role, password: null, HttpContext.RequestAborted);
        if (!result.Succeeded)
        {
            _error = result.Error;
            return;
        }

        Log("add", result.User!.Id);
        Audit.Record(AuditActions.UserCreated, AuditActor.Of(HttpContext.User), result.User.Email, AuditOutcome.Success, $"role {IrisRoles.Parse(NewUser.Role)}; one-time password");
        _notice = $"Added {result.User.Email} as {IrisRoles.Parse(NewUser.Role)}.";
        _oneTimePassword = result.OneTimePassword;
        NewUser = new();
        _users = await Administration.ListAsync(HttpContext.RequestAborted);
    }

    private async Task ActAsync()
    {
        var cancellationToken = HttpContext.RequestAborted;
        // "command:role:userId", the value of the pressed button.
        var parts = (Act.Command ?? "").Split(':', 3);
        var (command, role, userId) = parts.Length == 3 ? (parts[0], parts[1], parts[2]) : ("", "", "");
        var roleBefore = command == "role" ? _users.FirstOrDefault(u => u.Id == userId)?.Role : null;
        var result = command switch
        {
            "role" => await Administration.SetRoleAsync(userId, role, cancellationToken),
            "disable" => await Administration.SetDisabledAsync(userId, disabled: true, cancellationToken),
            "enable" => await Administration.SetDisabledAsync(userId, disabled: false, cancellationToken),
            "reset" => await Administration.ResetPasswordAsync(userId, cancellationToken),
            _ => AdminResult.Fail("unknown action."),
        };
        var action = command switch
        {
            "role" => AuditActions.RoleChanged,
            "disable" => AuditActions.UserDisabled,
            "enable" => AuditActions.UserEnabled,
            "reset" => AuditActions.PasswordReset,
            _ => null,
        };
        if (action is not null)
        {
            var detail = command == "role" ? $"{roleBefore ?? "?"} -> {IrisRoles.Parse(role) ?? role}" : null;
            Audit.Record(action, AuditActor.Of(HttpContext.User), result.User?.Email ?? userId,
                result.Succeeded ? AuditOutcome.Success : AuditOutcome.Failure, result.Succeeded ? detail : $"{detail} refused: {result.Error}".TrimStart());
        }

        if (!result.Succeeded)
        {
            _error = $"Could not {(command.Length > 0 ? command : "do that")}: {result.Error}";
        }
        else
        {
            Log(command, userId);
            _oneTimePassword = result.OneTimePassword;
            _notice = command switch
            {
                "role" => $"{result.User!.Email} is now {IrisRoles.Parse(role)}.",
                "disable" => $"{result.User!.Email} is disabled: no sign-in, and existing sign-ins end at their next check.",
                "enable" => $"{result.User!.Email} is enabled.",
                _ => $"The password of {result.User!.Email} was reset; existing sign-ins end at their next check.",
            };
        }

        _users = await Administration.ListAsync(cancellationToken);
    }

    private void Log(string action, string userId)
    {
        var adminId = HttpContext.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "?";
        AccountsLog.AdminAction(Logger, adminId, action, userId);
    }

    private static string StatusOf(UserSummary user) =>
        (user.IsDisabled, user.IsLockedOut, user.MustChangePassword) switch
        {
            (true, _, _) => "disabled",
            (_, true, _) => "locked out",
            (_, _, true) => "active · must change password",
            _ => "active",
        };

    private sealed class NewUserForm
    {
        [Required(ErrorMessage = "Enter the user's email.")]
        [EmailAddress(ErrorMessage = "Enter an email address.")]
        [MaxLength(256)]
        public string Email { get; set; } = "";

        [Required]
        public string Role { get; set; } = IrisRoles.Student;
    }

    private sealed class UserActionForm
    {
        public string? Command { get; set; }
    }
}
