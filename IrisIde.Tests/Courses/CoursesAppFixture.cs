using System.Globalization;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Support;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Courses;

/// <summary>
/// The app of the course tests: every request re-checks the sign-in, sandbox uids of their own (64000-64015; the
/// PostgreSQL app 64016-64031, the browser test 64032-64047),
/// server maxima small enough that clamping shows.
/// </summary>
public class CoursesAppFixture : IrisWebAppFixture
{
    public const int SandboxUid = 64000;

    public static readonly IReadOnlyDictionary<string, string?> CourseSettings = new Dictionary<string, string?>
    {
        ["Iris:Auth:SessionRecheckSeconds"] = "0",
        ["Iris:Auth:AllowAnonymousRuns"] = "false",
        ["Iris:Sandbox:Uid"] = SandboxUid.ToString(CultureInfo.InvariantCulture),
        ["Iris:Sandbox:UidCount"] = "16",
        ["Iris:Limits:Maximum:WallSeconds"] = "20",
        ["Iris:Limits:Maximum:CpuSeconds"] = "10",
        ["Iris:Admission:MaxSessionsPerClient"] = "8",
    };

    protected override IReadOnlyDictionary<string, string?> Settings => CourseSettings;
}

/// <summary>The same app on a fresh PostgreSQL database of its own.</summary>
[Trait("Needs", "Postgres")]
public sealed class PostgresCoursesAppFixture : IAsyncLifetime
{
    private TestPostgresDatabase? _database;
    private IrisWebApp? _app;

    public IrisWebApp App => _app ?? throw new InvalidOperationException("The web app has not started.");

    public async Task InitializeAsync()
    {
        _database = await TestPostgresDatabase.CreateAsync().WaitAsync(TimeSpan.FromSeconds(120));
        var settings = new Dictionary<string, string?>(CoursesAppFixture.CourseSettings)
        {
            ["ConnectionStrings:Postgres"] = _database.ConnectionString,
            ["Iris:Sandbox:Uid"] = (CoursesAppFixture.SandboxUid + 16).ToString(CultureInfo.InvariantCulture),
        };
        _app = await IrisWebApp.StartAsync(settings);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}

/// <summary>Users and courses made straight through the services.</summary>
internal static class TestCourses
{
    public static async Task<(IrisUser User, CourseActor Actor)> UserAsync(IrisWebApp app, string role, string who = "user")
    {
        var user = await TestAccounts.AddAsync(app, TestAccounts.NewEmail(who), role);
        return (user, new CourseActor(user.Id, role == IrisRoles.Admin, role == IrisRoles.Instructor));
    }

    public static async Task<T> WithServiceAsync<T>(IrisWebApp app, Func<CourseService, Task<T>> action)
    {
        await using var scope = app.Services.CreateAsyncScope();
        return await action(scope.ServiceProvider.GetRequiredService<CourseService>()).WaitAsync(AccountTestClient.Timeout);
    }

    public static async Task<Course> CreateAsync(IrisWebApp app, CourseActor instructor, string name = "Intro to Programming")
    {
        var result = await WithServiceAsync(app, s => s.CreateAsync(instructor, name, "CS101", "Fall 2026", CancellationToken.None));
        Assert.True(result.Succeeded, result.Error);
        return result.Course!;
    }

    public static async Task JoinAsync(IrisWebApp app, CourseActor student, Course course)
    {
        var result = await WithServiceAsync(app, s => s.JoinAsync(student, course.JoinCode, CancellationToken.None));
        Assert.True(result.Succeeded, result.Error);
    }
}
