using System.Text.Json;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Courses;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.Courses;

/// <summary>The IDE's hub with a course: the same rules as the batch API, and the course's cap on open sessions.</summary>
public sealed class CourseHubTests(CoursesAppFixture fixture) : IClassFixture<CoursesAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task Hub_runs_in_a_course_obey_its_languages_membership_and_session_cap()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var course = await CreateAsync(App, instructor);
        var foreign = await CreateAsync(App, instructor, "Not the student's");
        await JoinAsync(App, student, course);
        var saved = await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor, course.Id, new CourseSettings(["python"], null, null, null, null, 1), CancellationToken.None));
        Assert.True(saved.Succeeded, saved.Error);
        await using var hub = await ConnectAsync(studentUser);
        using var stopFirst = new CancellationTokenSource();

        var first = hub.StreamAsync<JsonElement>("StartRun", Request("python", "print('ready', flush=True)\ninput()\n", course.Id), stopFirst.Token).GetAsyncEnumerator(stopFirst.Token);
        await WaitForStdoutAsync(first, "ready");
        var second = await FirstEventAsync(hub, Request("python", "print(1)", course.Id));
        var notOffered = await FirstEventAsync(hub, Request("c", "int main(void) { return 0; }", course.Id));
        var notMine = await FirstEventAsync(hub, Request("python", "print(1)", foreign.Id));
        await stopFirst.CancelAsync();
        await first.DisposeAsync();

        Assert.Equal("too many sessions: this course allows at most 1 open at once per member; close one first", MessageOf(second));
        Assert.Equal("the course CS101 does not offer C (GCC) ('c'); it offers python", MessageOf(notOffered));
        Assert.Equal($"no course '{foreign.Id}' of yours", MessageOf(notMine));
    }

    private static object Request(string language, string source, Guid course) =>
        new { language, files = new[] { new { name = "", content = source } }, course = course.ToString() };

    private static string? MessageOf(JsonElement item)
    {
        Assert.Equal("error", item.GetProperty("type").GetString());
        return item.GetProperty("message").GetString();
    }

    private static async Task<JsonElement> FirstEventAsync(HubConnection hub, object request)
    {
        await foreach (var item in hub.StreamAsync<JsonElement>("StartRun", request).WithCancellation(CancellationToken.None))
        {
            return item;
        }

        throw new InvalidOperationException("the stream ended without an event");
    }

    private static async Task WaitForStdoutAsync(IAsyncEnumerator<JsonElement> events, string text)
    {
        var seen = new System.Text.StringBuilder();
        while (await events.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            var item = events.Current;
            if (item.GetProperty("type").GetString() == "stdout")
            {
                seen.Append(item.GetProperty("data").GetString());
                if (seen.ToString().Contains(text, StringComparison.Ordinal))
                {
                    return;
                }
            }
            else if (item.GetProperty("type").GetString() is "error" or "exit")
            {
                throw new InvalidOperationException($"the run ended before '{text}': {item}");
            }
        }

        throw new InvalidOperationException($"the stream ended before '{text}'");
    }

    private async Task<HubConnection> ConnectAsync(IrisUser user)
    {
        await using var scope = App.Services.CreateAsyncScope();
        var token = await scope.ServiceProvider.GetRequiredService<AccessTokenService>().CreateAsync(user, "hub", null, null, user.Id, CancellationToken.None).WaitAsync(Timeout);
        Assert.True(token.Succeeded, token.Error);
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(App.BaseAddress, "/hubs/execution"), options => options.AccessTokenProvider = () => Task.FromResult<string?>(token.Created!.Token))
            .Build();
        await connection.StartAsync().WaitAsync(Timeout);
        return connection;
    }
}
