using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using IrisIde.Web.Persistence;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.Courses;

/// <summary>
/// Runs that name a course, on the batch API and <c>/ws</c>: membership, archive, languages and limits of the
/// course, its caps, and course tokens.
/// </summary>
public sealed class CourseRunsTests(CoursesAppFixture fixture) : IClassFixture<CoursesAppFixture>
{
    private const string Hello = "print('hi')";

    private IrisWebApp App => fixture.App;

    private static CancellationToken None => CancellationToken.None;

    [Fact]
    public async Task A_members_batch_run_belongs_to_the_course_and_gets_its_limits_clamped_to_the_servers()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await SettingsAsync(instructor, course, new CourseSettings(["python"], 500, 2, null, null, null));
        using var http = await ClientWithTokenAsync(studentUser);

        using var response = await http.PostAsJsonAsync("/api/v1/runs", new { language = "python", files = new[] { new { name = "", content = Hello } }, limits = new { cpuSeconds = 5 }, course = course.Id });
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode} {body}");
        var record = await RecordAsync(JsonDocument.Parse(body).RootElement.GetProperty("id").GetGuid());
        Assert.Equal(course.Id.ToString(), record.Course);
        using var limits = JsonDocument.Parse(record.LimitsJson);
        // The course's CPU time beats the 5 s asked; its wall time was clamped to the server's 20 s maximum when saved.
        Assert.Equal(2, limits.RootElement.GetProperty("cpuSeconds").GetDouble());
        Assert.Equal(20, limits.RootElement.GetProperty("wallSeconds").GetDouble());
    }

    [Fact]
    public async Task A_language_the_course_does_not_offer_an_archived_course_and_someone_elses_course_are_refused_clearly()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (outsiderUser, _) = await UserAsync(App, IrisRoles.Student, "outsider");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await SettingsAsync(instructor, course, new CourseSettings(["python"], null, null, null, null, null));
        using var http = await ClientWithTokenAsync(studentUser);
        using var outsider = await ClientWithTokenAsync(outsiderUser);

        var (cStatus, cDetail) = await CreateRunAsync(http, "c", course.Id.ToString());
        var (unknownStatus, unknownDetail) = await CreateRunAsync(http, "klingon", course.Id.ToString());
        var (foreignStatus, foreignDetail) = await CreateRunAsync(outsider, "python", course.Id.ToString());
        var (guessedStatus, guessedDetail) = await CreateRunAsync(outsider, "python", Guid.NewGuid().ToString());
        await WithServiceAsync(App, s => s.ArchiveAsync(instructor, course.Id, None));
        var (archivedStatus, archivedDetail) = await CreateRunAsync(http, "python", course.Id.ToString());

        Assert.Equal(HttpStatusCode.Forbidden, cStatus);
        Assert.Equal("the course CS101 does not offer C (GCC) ('c'); it offers python", cDetail);
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.Equal("unknown language 'klingon'; the course CS101 offers python", unknownDetail);
        Assert.Equal(HttpStatusCode.Forbidden, foreignStatus);
        Assert.Equal($"no course '{course.Id}' of yours", foreignDetail);
        Assert.Equal(HttpStatusCode.Forbidden, guessedStatus);
        Assert.StartsWith("no course '", guessedDetail, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, archivedStatus);
        Assert.Equal("the course CS101 is archived: it takes no new runs", archivedDetail);
    }

    [Fact]
    public async Task A_courses_runs_per_minute_cap_refuses_the_run_past_it()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await SettingsAsync(instructor, course, new CourseSettings(null, null, null, null, 1, null));
        using var http = await ClientWithTokenAsync(studentUser);

        var (first, _) = await CreateRunAsync(http, "python", course.Id.ToString());
        var (second, secondDetail) = await CreateRunAsync(http, "python", course.Id.ToString());
        var (outside, _) = await CreateRunAsync(http, "python", null);

        Assert.Equal(HttpStatusCode.Accepted, first);
        Assert.Equal(HttpStatusCode.TooManyRequests, second);
        Assert.Equal("too many runs: this course allows at most 1 to start per minute per member; try again in a minute", secondDetail);
        // Outside the course the server's own rate applies.
        Assert.Equal(HttpStatusCode.Accepted, outside);
    }

    [Fact]
    public async Task A_course_tokens_runs_belong_to_its_course_and_it_cannot_run_in_another()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var course = await CreateAsync(App, instructor);
        var other = await CreateAsync(App, instructor, "Another course");
        var token = await TokenAsync(instructorUser, course.Id);
        using var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var plain = await http.PostAsJsonAsync("/api/v1/runs", new { language = "python", files = new[] { new { name = "", content = Hello } } });
        var (otherStatus, otherDetail) = await CreateRunAsync(http, "python", other.Id.ToString());
        using var seed = await http.PostAsJsonAsync("/run-code", new { language = "python", code = Hello });

        Assert.Equal(HttpStatusCode.Accepted, plain.StatusCode);
        Assert.Equal(course.Id.ToString(), (await RecordAsync((await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid())).Course);
        Assert.Equal(HttpStatusCode.Forbidden, otherStatus);
        Assert.Equal("this access token is bound to one course and cannot start runs in another", otherDetail);
        Assert.Equal(HttpStatusCode.OK, seed.StatusCode);
        var taskId = Guid.Parse((await seed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("task_id").GetString()!);
        Assert.Equal(course.Id.ToString(), (await RecordAsync(taskId)).Course);
    }

    [Fact]
    public async Task A_course_token_stops_working_when_its_maker_no_longer_teaches_the_course()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (secondUser, second) = await UserAsync(App, IrisRoles.Instructor, "second");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, second, course);
        Assert.True((await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, secondUser.Id, CourseRole.Instructor, None))).Succeeded);
        var token = await TokenAsync(instructorUser, course.Id);
        using var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var whileTeaching = await http.PostAsJsonAsync("/api/v1/runs", new { language = "no-such-language", files = new[] { new { name = "", content = Hello } } });
        var demoted = await WithServiceAsync(App, s => s.SetRoleAsync(second, course.Id, instructorUser.Id, CourseRole.TeachingAssistant, None));
        using var afterDemotion = await http.PostAsJsonAsync("/api/v1/runs", new { language = "no-such-language", files = new[] { new { name = "", content = Hello } } });

        Assert.True(demoted.Succeeded, demoted.Error);
        Assert.Equal(HttpStatusCode.BadRequest, whileTeaching.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, afterDemotion.StatusCode);
    }

    [Fact]
    public async Task The_websocket_refuses_a_foreign_course_before_the_upgrade_and_a_language_not_offered_with_an_error()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (outsiderUser, _) = await UserAsync(App, IrisRoles.Student, "outsider");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await SettingsAsync(instructor, course, new CourseSettings(["python"], null, null, null, null, null));
        var studentToken = await TokenAsync(studentUser, null);
        var outsiderToken = await TokenAsync(outsiderUser, null);

        var refused = await Assert.ThrowsAsync<WebSocketException>(() => RunnerTestClient.ConnectAsync(WebSocketUri(outsiderToken, course.Id)));
        await using var client = await RunnerTestClient.ConnectAsync(WebSocketUri(studentToken, course.Id));
        await client.SendCodeAsync("c", "int main(void) { return 0; }");
        var error = await client.ReceiveUntilAsync("error");

        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Equal("the course CS101 does not offer C (GCC) ('c'); it offers python", error.GetProperty("error").GetString());
    }

    private async Task SettingsAsync(CourseActor instructor, Course course, CourseSettings settings)
    {
        var result = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, settings, None));
        Assert.True(result.Succeeded, result.Error);
    }

    private async Task<string> TokenAsync(IrisUser user, Guid? courseId)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<AccessTokenService>()
            .CreateAsync(user, "course test", null, null, user.Id, None, courseId).WaitAsync(AccountTestClient.Timeout);
        Assert.True(result.Succeeded, result.Error);
        return result.Created!.Token;
    }

    private async Task<HttpClient> ClientWithTokenAsync(IrisUser user)
    {
        var http = App.CreateHttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(user, null));
        return http;
    }

    private static async Task<(HttpStatusCode Status, string? Detail)> CreateRunAsync(HttpClient http, string language, string? course)
    {
        using var response = await http.PostAsJsonAsync("/api/v1/runs", new { language, files = new[] { new { name = "", content = Hello } }, course }).WaitAsync(AccountTestClient.Timeout);
        var body = await response.Content.ReadAsStringAsync();
        var detail = response.IsSuccessStatusCode ? null : JsonDocument.Parse(body).RootElement.TryGetProperty("detail", out var d) ? d.GetString() : body;
        return (response.StatusCode, detail);
    }

    private async Task<RunRecord> RecordAsync(Guid id)
    {
        await using var scope = App.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<RunStore>().FindAsync(id, None).WaitAsync(AccountTestClient.Timeout))!;
    }

    private Uri WebSocketUri(string token, Guid course) =>
        new($"ws://{App.BaseAddress.Authority}/ws?course={course}&access_token={Uri.EscapeDataString(token)}");
}
