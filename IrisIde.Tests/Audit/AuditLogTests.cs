using System.Net;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Audit;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Audit;

/// <summary>An app for the audit tests: every request re-checks the sign-in, a short lockout threshold.</summary>
public sealed class AuditAppFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings { get; } = AuditTestSupport.Settings(
        ("Iris:Auth:SessionRecheckSeconds", "0"),
        ("Iris:Auth:MaxFailedSignIns", "3"));
}

/// <summary>
/// What the audit log keeps of each security-relevant action, done the way users do it (sign-ins and pages over
/// HTTP): who, what, on whom, from where, how it ended; and never a password or a token.
/// </summary>
public sealed class AuditLogTests(AuditAppFixture fixture) : IClassFixture<AuditAppFixture>
{
    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task Sign_ins_failed_sign_ins_and_a_lockout_are_audited_with_the_client_address_and_no_password()
    {
        var email = TestAccounts.NewEmail("signer");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);

        await client.SignInOrFailAsync(email, TestAccounts.Password);
        var wrongPasswords = new[] { "wrong-password-one", "wrong-password-two", "wrong-password-three" };
        using var guesser = new AccountTestClient(App.BaseAddress);
        foreach (var wrong in wrongPasswords)
        {
            using var refused = await guesser.SignInAsync(email, wrong);
        }

        using (var unknown = await guesser.SignInAsync("nobody-" + email, "typed-into-the-wrong-box"))
        {
            Assert.Null(guesser.SessionCookie);
        }

        var succeeded = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SignInSucceeded && e.ActorId == user.Id));
        Assert.Equal((email, email, "127.0.0.1", AuditOutcome.Success), (succeeded.Actor, succeeded.Target, succeeded.ClientIp, succeeded.Outcome));
        var failed = await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SignInFailed && e.Target == email, count: 2);
        Assert.All(failed, e => Assert.Equal(("anonymous", AuditOutcome.Failure), (e.Actor, e.Outcome)));
        Assert.Contains(failed, e => e.Detail == "password: wrong password");
        var lockout = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.LockedOut && e.Target == email));
        Assert.Contains("3 failed sign-ins", lockout.Detail, StringComparison.Ordinal);
        await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SignInFailed && e.Target == "(no such account)");

        var all = await AuditTestSupport.AllAsync(App.Services);
        foreach (var secret in wrongPasswords.Append(TestAccounts.Password).Append("typed-into-the-wrong-box").Append("nobody-" + email))
        {
            Assert.DoesNotContain(all, e => AuditTestSupport.Describe(e).Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Token_creation_and_revocation_on_the_tokens_page_are_audited_without_the_token()
    {
        var email = TestAccounts.NewEmail("tokens");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Instructor);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);

        using var created = await client.PostFormAsync("/account/tokens", "create-token",
            [new("NewToken.Name", "grader"), new("NewToken.ExpiresDays", "7"), new("NewToken.Runs", "true"), new("NewToken.RunsRead", "true")]);
        var html = await AccountTestClient.BodyAsync(created);
        var token = System.Text.RegularExpressions.Regex.Match(html, "iris_pat_[0-9a-f]{32}_[A-Za-z0-9_-]{43}").Value;
        Assert.NotEmpty(token);
        var id = token[9..41];
        using (var revoked = await client.PostFormAsync("/account/tokens", "revoke-token", [new("Revoke.Id", id)]))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        var create = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.TokenCreated && e.ActorId == user.Id));
        Assert.Equal(($"token {id} of {email}", email, "127.0.0.1"), (create.Target, create.Actor, create.ClientIp));
        Assert.Contains("'grader'; scopes runs runs:read; expires", create.Detail, StringComparison.Ordinal);
        var revoke = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.TokenRevoked && e.ActorId == user.Id));
        Assert.Equal($"token {id} of {email}", revoke.Target);

        // A request with the revoked token is a refusal, named by the token's id, never the token.
        using var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri($"/results/{Guid.NewGuid()}", UriKind.Relative)).WaitAsync(AuditTestSupport.Timeout)).StatusCode);
        await AuditTestSupport.DrainAsync(App.Services);
        var all = await AuditTestSupport.AllAsync(App.Services);
        Assert.DoesNotContain(all, e => AuditTestSupport.Describe(e).Contains(token[42..], StringComparison.Ordinal));
        Assert.DoesNotContain(all, e => AuditTestSupport.Describe(e).Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Admin_actions_and_a_password_change_are_audited_with_the_admin_as_actor()
    {
        var adminEmail = TestAccounts.NewEmail("auditing-admin");
        var admin = await TestAccounts.AddAsync(App, adminEmail, IrisRoles.Admin);
        var email = TestAccounts.NewEmail("managed");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var adminClient = new AccountTestClient(App.BaseAddress);
        await adminClient.SignInOrFailAsync(adminEmail, TestAccounts.Password);

        foreach (var command in new[] { $"role:Instructor:{user.Id}", $"disable::{user.Id}", $"enable::{user.Id}", $"reset::{user.Id}" })
        {
            using var response = await adminClient.PostFormAsync("/admin/users", "user-action", [new("Act.Command", command)]);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var newEmail = TestAccounts.NewEmail("added");
        using (var added = await adminClient.PostFormAsync("/admin/users", "add-user", [new("NewUser.Email", newEmail), new("NewUser.Role", IrisRoles.Student)]))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        var byAdmin = await AuditTestSupport.WaitForAsync(App, e => e.ActorId == admin.Id && e.Action != AuditActions.SignInSucceeded, count: 5);
        Assert.Equal(
            [
                $"{AuditActions.RoleChanged} {email} Success Student -> Instructor",
                $"{AuditActions.UserDisabled} {email} Success ",
                $"{AuditActions.UserEnabled} {email} Success ",
                $"{AuditActions.PasswordReset} {email} Success ",
                $"{AuditActions.UserCreated} {newEmail} Success role Student; one-time password",
            ],
            byAdmin.Select(e => $"{e.Action} {e.Target} {e.Outcome} {e.Detail}"));
        Assert.All(byAdmin, e => Assert.Equal(adminEmail, e.Actor));

        // The user changes their own password: audited as theirs, without either password.
        var other = TestAccounts.NewEmail("changer");
        var changer = await TestAccounts.AddAsync(App, other, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(other, TestAccounts.Password);
        const string NewPassword = "a brand new long password";
        using (var wrong = await client.PostFormAsync(AccountsExtensions.ChangePasswordPath, "change-password",
            [new("Input.CurrentPassword", "not my current password"), new("Input.NewPassword", NewPassword), new("Input.ConfirmPassword", NewPassword)]))
        {
            Assert.Equal(HttpStatusCode.OK, wrong.StatusCode);
        }

        using (var changed = await client.PostFormAsync(AccountsExtensions.ChangePasswordPath, "change-password",
            [new("Input.CurrentPassword", TestAccounts.Password), new("Input.NewPassword", NewPassword), new("Input.ConfirmPassword", NewPassword)]))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        var changes = await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.PasswordChanged && e.ActorId == changer.Id, count: 2);
        Assert.Equal([(AuditOutcome.Failure, "PasswordMismatch"), (AuditOutcome.Success, null)], changes.Select(e => (e.Outcome, e.Detail)));
        var all = await AuditTestSupport.AllAsync(App.Services);
        Assert.DoesNotContain(all, e => AuditTestSupport.Describe(e).Contains(NewPassword, StringComparison.Ordinal));
        Assert.DoesNotContain(all, e => AuditTestSupport.Describe(e).Contains("not my current password", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Needs", "Bubblewrap")]
    public async Task An_admin_ending_a_running_hub_run_kills_it_and_is_audited()
    {
        var ending = App.Services.GetRequiredService<IrisIde.Web.History.LiveRunEnding>();
        var admin = Admin("admin-id-ending-a-run", "run-ender@example.edu");
        await using var connection = await IrisIde.Tests.Hubs.HubRun.ConnectAsync(App.BaseAddress);
        var run = IrisIde.Tests.Hubs.HubRun.Start(connection, "python", "print('ready', flush=True)\ninput()\n");
        await run.WaitForTextAsync("stdout", "ready").WaitAsync(AuditTestSupport.Timeout);

        Assert.True(ending.End(admin, Guid.Parse(run.RunId)));

        await run.ReadToEndAsync().WaitAsync(AuditTestSupport.Timeout);
        var exit = run.One("exit");
        Assert.Equal("killed", exit.GetProperty("verdict").GetString());
        Assert.Contains("ended by an admin", exit.GetProperty("message").GetString(), StringComparison.Ordinal);
        var entry = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SessionEndedByAdmin && e.ActorId == "admin-id-ending-a-run"));
        Assert.Equal(($"run {Guid.Parse(run.RunId):N}", AuditOutcome.Success, "run-ender@example.edu"), (entry.Target, entry.Outcome, entry.Actor));
    }

    [Fact]
    public async Task An_admin_ending_a_run_is_audited_and_an_unknown_run_is_a_failure()
    {
        var ending = App.Services.GetRequiredService<IrisIde.Web.History.LiveRunEnding>();
        var runId = Guid.NewGuid();

        Assert.False(ending.End(Admin("admin-id-for-end", "ender@example.edu"), runId));

        var entry = Assert.Single(await AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SessionEndedByAdmin && e.ActorId == "admin-id-for-end"));
        Assert.Equal(($"run {runId:N}", AuditOutcome.Failure, "no such run is going"), (entry.Target, entry.Outcome, entry.Detail));
    }

    private static System.Security.Claims.ClaimsPrincipal Admin(string userId, string email) =>
        new(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.NameIdentifier, userId), new(System.Security.Claims.ClaimTypes.Email, email), new(System.Security.Claims.ClaimTypes.Role, IrisRoles.Admin)],
            authenticationType: "test"));
}
