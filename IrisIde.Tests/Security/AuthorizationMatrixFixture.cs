using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Security;

/// <summary>
/// Who knocks in the authorization matrix. Each principal is a cookie jar (empty unless it signed in) and,
/// for the token principals, the token sent as <c>Authorization: Bearer</c>. Course principals (a teaching
/// assistant, another course's instructor) are added here and in <see cref="AuthorizationMatrixFixture"/>.
/// </summary>
public static class MatrixPrincipals
{
    public const string Anonymous = "anonymous";
    public const string StudentA = "student A (cookie)";
    public const string StudentB = "student B (cookie)";
    public const string Instructor = "instructor (cookie)";
    public const string Admin = "admin (cookie)";
    public const string TokenRuns = "student A token, runs only";
    public const string TokenRunsRead = "student A token, runs:read only";
    public const string TokenB = "student B token, all scopes";
    public const string ExpiredToken = "expired token";
    public const string RevokedToken = "revoked token";
    public const string DisabledCookie = "disabled user (cookie)";
    public const string DisabledToken = "disabled user (token)";
    public const string MustChangePassword = "student with a one-time password (cookie)";

    // The course: student A is its student; student B is in no course; "instructor" teaches another course.
    public const string CourseInstructor = "the course's instructor (cookie)";
    public const string CourseTa = "the course's teaching assistant (cookie)";
    public const string CourseToken = "the course's service token";

    public static readonly string[] All =
    [
        Anonymous, StudentA, StudentB, Instructor, Admin, TokenRuns, TokenRunsRead, TokenB, ExpiredToken, RevokedToken, DisabledCookie, DisabledToken, MustChangePassword,
        CourseInstructor, CourseTa, CourseToken,
    ];

    public static readonly string[] Tokens = [TokenRuns, TokenRunsRead, TokenB, ExpiredToken, RevokedToken, DisabledToken, CourseToken];

    /// <summary>
    /// Outside the course's own surfaces a course principal is only its global self: the course's instructor a
    /// global instructor, its teaching assistant a student who owns no run, its token (scope runs) a runs-only token.
    /// A surface that names none of them gives them the answer of their twin here.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Twin = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [CourseInstructor] = Instructor,
        [CourseTa] = StudentB,
        [CourseToken] = TokenRuns,
    };

    /// <summary>Tokens that are refused whatever they are used for.</summary>
    public static readonly string[] BadTokens = [ExpiredToken, RevokedToken, DisabledToken];

    /// <summary>Signed-in browsers whose sign-in still holds.</summary>
    public static readonly string[] Cookies = [StudentA, StudentB, Instructor, Admin];
}

/// <summary>One principal's client: its cookies, and its bearer token if it is a token principal.</summary>
public sealed class MatrixPrincipal(string name, Uri baseAddress, string? token) : IDisposable
{
    public string Name { get; } = name;

    public string? Token { get; } = token;

    internal AccountTestClient Browser { get; } = new(baseAddress);

    public CookieContainer Cookies => Browser.Cookies;

    /// <summary>A request with this principal's token, if any (the cookie jar adds its cookies).</summary>
    public HttpRequestMessage Request(HttpMethod method, string path)
    {
        var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (Token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        }

        return request;
    }

    /// <summary>
    /// The same principal in a second client holding a copy of its cookies, for a probe that would end the
    /// session (sign-out) without ending it for the other cells.
    /// </summary>
    public MatrixPrincipal Copy()
    {
        var copy = new MatrixPrincipal(Name, Browser.BaseAddress, Token);
        copy.Cookies.Add(Cookies.GetAllCookies());
        return copy;
    }

    public void Dispose() => Browser.Dispose();
}

/// <summary>
/// The app as shipped (<c>Iris:Auth:AllowAnonymousRuns</c> off), sign-ins re-checked on every request (a disabled
/// user's cookie is refused at once), single sign-on configured against a provider that is not there (so its
/// endpoints are mapped, and starting one ends on the "unavailable" message), and every principal of
/// <see cref="MatrixPrincipals"/> made once, with one finished batch run owned by student A for the IDOR rows
/// (stored directly: nothing in the matrix runs a program).
/// </summary>
public sealed class AuthorizationMatrixFixture : IrisWebAppFixture, IAsyncLifetime
{
    public const int SandboxUid = 64500;

    private readonly Dictionary<string, MatrixPrincipal> _principals = new(StringComparer.Ordinal);

    public Guid StudentARun { get; private set; }

    /// <summary>An IDE run of student A in the course, with a transcript: what the course's staff may see and others not.</summary>
    public Guid StudentACourseRun { get; private set; }

    public string StudentBId { get; private set; } = "";

    /// <summary>The course student A, the teaching assistant and the course's instructor are in; "instructor" teaches another.</summary>
    public Guid CourseId { get; private set; }

    public string StudentAId { get; private set; } = "";

    /// <summary>A second course of the course's instructor, with the same student A and teaching assistant, archived: what un-archive rows aim at.</summary>
    public Guid ArchivedCourseId { get; private set; }

    /// <summary>The id of a token of student B that no principal uses: what the revoke form's IDOR row aims at.</summary>
    public string StudentBSpareToken { get; private set; } = "";

    protected override IReadOnlyDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>
    {
        ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:Auth:Oidc:Authority"] = $"http://127.0.0.1:{ClosedPort()}/oidc",
        ["Iris:Auth:Oidc:ClientId"] = "iris-matrix",
        ["Iris:Auth:Oidc:ClientSecret"] = "unused",
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
    };

    public MatrixPrincipal this[string name] => _principals[name];

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var studentA = await SignedInAsync(MatrixPrincipals.StudentA, IrisRoles.Student);
        StudentAId = studentA.Id;
        var studentB = await SignedInAsync(MatrixPrincipals.StudentB, IrisRoles.Student);
        StudentBId = studentB.Id;
        var instructor = await SignedInAsync(MatrixPrincipals.Instructor, IrisRoles.Instructor);
        await SignedInAsync(MatrixPrincipals.Admin, IrisRoles.Admin);

        var courseInstructor = await SignedInAsync(MatrixPrincipals.CourseInstructor, IrisRoles.Instructor);
        var ta = await SignedInAsync(MatrixPrincipals.CourseTa, IrisRoles.Student);
        var course = await IrisIde.Tests.Courses.TestCourses.CreateAsync(App, Actor(courseInstructor, IrisRoles.Instructor));
        CourseId = course.Id;
        await IrisIde.Tests.Courses.TestCourses.JoinAsync(App, Actor(studentA, IrisRoles.Student), course);
        await IrisIde.Tests.Courses.TestCourses.JoinAsync(App, Actor(ta, IrisRoles.Student), course);
        var promoted = await IrisIde.Tests.Courses.TestCourses.WithServiceAsync(App, s => s.SetRoleAsync(Actor(courseInstructor, IrisRoles.Instructor), course.Id, ta.Id, IrisIde.Web.Courses.CourseRole.TeachingAssistant, CancellationToken.None));
        Assert.True(promoted.Succeeded, promoted.Error);
        await IrisIde.Tests.Courses.TestCourses.CreateAsync(App, Actor(instructor, IrisRoles.Instructor), "Another course");
        var archived = await IrisIde.Tests.Courses.TestCourses.CreateAsync(App, Actor(courseInstructor, IrisRoles.Instructor), "Last year's course");
        ArchivedCourseId = archived.Id;
        await IrisIde.Tests.Courses.TestCourses.JoinAsync(App, Actor(studentA, IrisRoles.Student), archived);
        await IrisIde.Tests.Courses.TestCourses.JoinAsync(App, Actor(ta, IrisRoles.Student), archived);
        var archivedTa = await IrisIde.Tests.Courses.TestCourses.WithServiceAsync(App, s => s.SetRoleAsync(Actor(courseInstructor, IrisRoles.Instructor), archived.Id, ta.Id, IrisIde.Web.Courses.CourseRole.TeachingAssistant, CancellationToken.None));
        Assert.True(archivedTa.Succeeded, archivedTa.Error);
        await ArchiveAgainAsync();
        var courseToken = await WithScopeAsync(s => s.GetRequiredService<AccessTokenService>().CreateAsync(
            courseInstructor, "autograder", [AccessTokenScopes.Runs], null, courseInstructor.Id, CancellationToken.None, course.Id));
        Assert.True(courseToken.Created is not null, courseToken.Error);
        Add(MatrixPrincipals.CourseToken, courseToken.Created.Token);
        Add(MatrixPrincipals.Anonymous, null);
        Add(MatrixPrincipals.TokenRuns, await TokenAsync(studentA, [AccessTokenScopes.Runs]));
        Add(MatrixPrincipals.TokenRunsRead, await TokenAsync(studentA, [AccessTokenScopes.RunsRead]));
        Add(MatrixPrincipals.TokenB, await TokenAsync(studentB, null));
        StudentBSpareToken = AccessTokenService.IdOf(await TokenAsync(studentB, null))!.Value.ToString("N");

        var expired = await TokenAsync(studentA, null);
        await WithDbAsync(db => db.AccessTokens.Where(t => t.Id == AccessTokenService.IdOf(expired))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.ExpiresAtUtc, DateTime.UtcNow.AddSeconds(-1))));
        Add(MatrixPrincipals.ExpiredToken, expired);
        var revoked = await TokenAsync(studentA, null);
        await WithScopeAsync(s => s.GetRequiredService<AccessTokenService>().RevokeAsync(AccessTokenService.IdOf(revoked)!.Value, null, "matrix", CancellationToken.None));
        Add(MatrixPrincipals.RevokedToken, revoked);

        // Signed in and holding a token while enabled; then an admin disables the account.
        var disabled = await SignedInAsync(MatrixPrincipals.DisabledCookie, IrisRoles.Student);
        Add(MatrixPrincipals.DisabledToken, await TokenAsync(disabled, null));
        var result = await TestAccounts.WithAdministrationAsync(App, a => a.SetDisabledAsync(disabled.Id, true, CancellationToken.None));
        Assert.True(result.Succeeded, result.Error);

        // Made by an admin without a password: signs in with the one-time password it was given.
        var otpEmail = TestAccounts.NewEmail("otp");
        var otp = await TestAccounts.WithAdministrationAsync(App, a => a.AddUserAsync(otpEmail, IrisRoles.Student, null, CancellationToken.None));
        Assert.True(otp.OneTimePassword is not null, otp.Error);
        var mustChange = new MatrixPrincipal(MatrixPrincipals.MustChangePassword, App.BaseAddress, null);
        _principals.Add(mustChange.Name, mustChange);
        await mustChange.Browser.SignInOrFailAsync(otpEmail, otp.OneTimePassword);

        StudentARun = Guid.CreateVersion7();
        await WithScopeAsync(s => s.GetRequiredService<RunStore>().AddAsync(
            new RunRecord
            {
                Id = StudentARun,
                Owner = studentA.Id,
                Kind = RunKind.Batch,
                Status = RunRecordStatus.Completed,
                Language = "python",
                FilesJson = "[]",
                LimitsJson = "null",
                QueuedAtUtc = DateTime.UtcNow,
                FinishedAtUtc = DateTime.UtcNow,
                Verdict = "ok",
                ExitCode = 0,
                Stdout = "student A's output\n",
                Stderr = "",
            },
            CancellationToken.None));

        StudentACourseRun = Guid.CreateVersion7();
        await WithDbAsync(db =>
        {
            db.Runs.Add(new RunRecord
            {
                Id = StudentACourseRun,
                Owner = studentA.Id,
                Course = course.Id.ToString(),
                Kind = RunKind.Interactive,
                Surface = RunSurfaces.Ide,
                Backend = "local",
                Status = RunRecordStatus.Completed,
                Language = "python",
                FilesJson = "[]",
                LimitsJson = "null",
                QueuedAtUtc = DateTime.UtcNow,
                StartedAtUtc = DateTime.UtcNow,
                FinishedAtUtc = DateTime.UtcNow,
                Verdict = "ok",
                ExitCode = 0,
            });
            db.TranscriptChunks.Add(new IrisIde.Web.History.RunTranscriptChunk { RunId = StudentACourseRun, Sequence = 0, TimeMs = 5, Stream = "stdout", Data = "student A's course output\n" });
            return db.SaveChangesAsync();
        });
    }

    public new async Task DisposeAsync()
    {
        foreach (var principal in _principals.Values)
        {
            principal.Dispose();
        }

        await base.DisposeAsync();
    }

    /// <summary>Archives <see cref="ArchivedCourseId"/> again (a cell that un-archived it leaves it active), so each un-archive cell starts alike.</summary>
    public Task ArchiveAgainAsync() =>
        WithDbAsync(db => db.Courses.Where(c => c.Id == ArchivedCourseId && c.ArchivedAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.ArchivedAtUtc, DateTime.UtcNow)));

    private static IrisIde.Web.Courses.CourseActor Actor(IrisUser user, string role) => new(user.Id, role == IrisRoles.Admin, role == IrisRoles.Instructor, user.Email);

    private void Add(string name, string? token) => _principals.Add(name, new MatrixPrincipal(name, App.BaseAddress, token));

    private async Task<IrisUser> SignedInAsync(string name, string role)
    {
        var email = TestAccounts.NewEmail(role.ToLowerInvariant());
        var user = await TestAccounts.AddAsync(App, email, role);
        var principal = new MatrixPrincipal(name, App.BaseAddress, null);
        _principals.Add(name, principal);
        await principal.Browser.SignInOrFailAsync(email, TestAccounts.Password);
        return user;
    }

    private async Task<string> TokenAsync(IrisUser user, IReadOnlyCollection<string>? scopes)
    {
        var result = await WithScopeAsync(s => s.GetRequiredService<AccessTokenService>().CreateAsync(user, "matrix", scopes, null, user.Id, CancellationToken.None));
        Assert.True(result.Created is not null, result.Error);
        return result.Created.Token;
    }

    private Task<T> WithDbAsync<T>(Func<IrisDbContext, Task<T>> action) => WithScopeAsync(s => action(s.GetRequiredService<IrisDbContext>()));

    private async Task<T> WithScopeAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider).WaitAsync(AccountTestClient.Timeout);
    }

    private async Task WithScopeAsync(Func<IServiceProvider, Task> action)
    {
        await using var scope = App.Services.CreateAsyncScope();
        await action(scope.ServiceProvider).WaitAsync(AccountTestClient.Timeout);
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
