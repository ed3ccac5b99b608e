using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.AccessTokens;
using IrisIde.Web.Audit;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.History;

/// <summary>The app of the live-watch tests: the run history's settings, sandbox uids 64740-64755.</summary>
public sealed class LiveWatchAppFixture : IrisWebAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>(HistoryAppFixture.HistorySettings)
    {
        ["Iris:Sandbox:Uid"] = "64740",
    };
}

/// <summary>
/// Live watch over the execution hub: a course's staff and admins watch a student's running session as it
/// happens (what it showed before too), the student's IDE is told, and nobody else gets anything.
/// </summary>
public sealed class LiveWatchTests(LiveWatchAppFixture fixture) : IClassFixture<LiveWatchAppFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    // Waits for a second line before it ends, so the run is still going when a watcher leaves.
    private const string Greeter = "print('Name?', flush=True)\nname = input()\nprint('Hi ' + name, flush=True)\ninput()\n";

    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task Course_staff_watch_a_students_run_live_and_the_student_is_told()
    {
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (assistantUser, assistantActor) = await UserAsync(App, IrisRoles.Student, "assistant");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await JoinAsync(App, assistantActor, course);
        var promoted = await WithServiceAsync(App, s => s.SetRoleAsync(instructor, course.Id, assistantUser.Id, CourseRole.TeachingAssistant, CancellationToken.None));
        Assert.True(promoted.Succeeded, promoted.Error);

        await using var studentHub = await TokenHubAsync(studentUser);
        var notices = Channel.CreateUnbounded<(string RunId, int Count)>();
        studentHub.On<string, int>("watching", (runId, count) => notices.Writer.TryWrite((runId, count)));
        using var stopRun = new CancellationTokenSource(Timeout);
        var run = studentHub.StreamAsync<JsonElement>("StartRun", Request(Greeter, course.Id), stopRun.Token).GetAsyncEnumerator(stopRun.Token);
        var runId = await RunIdAsync(run);
        await ReadUntilAsync(run, "stdout", "Name?");

        await using var instructorHub = await CookieHubAsync(instructorUser);
        using var stopWatch = new CancellationTokenSource(Timeout);
        var watch = instructorHub.StreamAsync<JsonElement>("WatchRun", runId, stopWatch.Token).GetAsyncEnumerator(stopWatch.Token);
        var opened = await NextAsync(watch);
        Assert.Equal("opened", Type(opened));
        Assert.Equal(runId, opened.GetProperty("runId").GetString());
        var watched = new StringBuilder();
        await ReadWatchUntilAsync(watch, watched, "stdout:Name?");
        Assert.Equal((runId, 1), await notices.Reader.ReadAsync().AsTask().WaitAsync(Timeout));

        // The assistant watches too; then the student types, and both see input and output as they happen.
        await using var assistantHub = await CookieHubAsync(assistantUser);
        using var stopSecond = new CancellationTokenSource(Timeout);
        var second = assistantHub.StreamAsync<JsonElement>("WatchRun", runId, stopSecond.Token).GetAsyncEnumerator(stopSecond.Token);
        Assert.Equal("opened", Type(await NextAsync(second)));
        Assert.Equal((runId, 2), await notices.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
        await studentHub.InvokeAsync("SendInput", runId, "Ann\n").WaitAsync(Timeout);
        await ReadWatchUntilAsync(watch, watched, "stdout:Hi Ann");
        await ReadWatchUntilAsync(watch, watched, "stdin:Ann\n");

        // The assistant leaves: the student is told; the run ends: the instructor's watch ends with it.
        await stopSecond.CancelAsync();
        await second.DisposeAsync();
        Assert.Equal((runId, 1), await notices.Reader.ReadAsync().AsTask().WaitAsync(Timeout));
        await studentHub.InvokeAsync("SendInput", runId, "\n").WaitAsync(Timeout);
        await ReadUntilAsync(run, "exit", null);
        var last = await NextAsync(watch);
        while (Type(last) == "chunk")
        {
            last = await NextAsync(watch);
        }

        Assert.Equal("ended", Type(last));
        Assert.False(await watch.MoveNextAsync().AsTask().WaitAsync(Timeout));
        await run.DisposeAsync();
        await watch.DisposeAsync();
    }

    [Fact]
    public async Task Nobody_else_may_watch_and_a_guessed_id_looks_the_same()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (otherUser, other) = await UserAsync(App, IrisRoles.Instructor, "other-instructor");
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (classmateUser, classmate) = await UserAsync(App, IrisRoles.Student, "classmate");
        var (adminUser, _) = await UserAsync(App, IrisRoles.Admin, "admin");
        var course = await CreateAsync(App, instructor);
        await CreateAsync(App, other, "Another course");
        await JoinAsync(App, student, course);
        await JoinAsync(App, classmate, course);

        await using var studentHub = await TokenHubAsync(studentUser);
        using var stopRun = new CancellationTokenSource(Timeout);
        var run = studentHub.StreamAsync<JsonElement>("StartRun", Request(Greeter, course.Id), stopRun.Token).GetAsyncEnumerator(stopRun.Token);
        var runId = await RunIdAsync(run);
        await ReadUntilAsync(run, "stdout", "Name?");

        var otherInstructor = await FirstWatchEventAsync(await CookieHubAsync(otherUser), runId);
        var theStudentThemself = await FirstWatchEventAsync(await CookieHubAsync(studentUser), runId);
        var aClassmate = await FirstWatchEventAsync(await CookieHubAsync(classmateUser), runId);
        var withAToken = await FirstWatchEventAsync(await TokenHubAsync(adminUser), runId);
        var guessed = await FirstWatchEventAsync(await CookieHubAsync(adminUser), Guid.NewGuid().ToString());
        var malformed = await FirstWatchEventAsync(await CookieHubAsync(adminUser), "../../etc");
        var admin = await FirstWatchEventAsync(await CookieHubAsync(adminUser), runId);

        foreach (var refused in new[] { otherInstructor, theStudentThemself, aClassmate, withAToken, guessed, malformed })
        {
            Assert.Equal("error", Type(refused));
            Assert.Equal(IrisIde.Web.History.LiveWatchStreams.NotWatchable, refused.GetProperty("message").GetString());
        }

        Assert.Equal("opened", Type(admin));
        await stopRun.CancelAsync();
        await run.DisposeAsync();
    }

    /// <summary>
    /// One account holding every place to watch every run (8 per run) would shut out the course's real staff: a
    /// viewer watches at most 16 runs at once, over however many connections; closing one frees a place, and
    /// another admin is not affected.
    /// </summary>
    [Fact]
    public async Task One_viewer_watches_at_most_sixteen_runs_at_once_over_all_their_connections()
    {
        var (_, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var (adminUser, _) = await UserAsync(App, IrisRoles.Admin, "greedy-admin");
        var (otherAdminUser, _) = await UserAsync(App, IrisRoles.Admin, "other-admin");
        var course = await CreateAsync(App, instructor);
        using var stopRuns = new CancellationTokenSource(Timeout * 3);
        var runIds = new List<string>();
        var hubs = new List<HubConnection>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "watched" + i.ToString(CultureInfo.InvariantCulture));
                await JoinAsync(App, student, course);
                var studentHub = await TokenHubAsync(studentUser);
                hubs.Add(studentHub);
                var run = studentHub.StreamAsync<JsonElement>("StartRun", Request(Greeter, course.Id), stopRuns.Token).GetAsyncEnumerator(stopRuns.Token);
                runIds.Add(await RunIdAsync(run));
                await ReadUntilAsync(run, "stdout", "Name?");
            }

            // 8 watches of each of the first two runs, over four connections of one admin: all 16 open.
            var cookie = await CookieAsync(adminUser);
            var watches = new List<(IAsyncEnumerator<JsonElement> Stream, CancellationTokenSource Stop)>();
            for (var c = 0; c < 4; c++)
            {
                var hub = await CookieHubAsync(cookie);
                hubs.Add(hub);
                for (var w = 0; w < 4; w++)
                {
                    var stop = CancellationTokenSource.CreateLinkedTokenSource(stopRuns.Token);
                    var watch = hub.StreamAsync<JsonElement>("WatchRun", runIds[(c * 4 + w) / 8], stop.Token).GetAsyncEnumerator(stop.Token);
                    watches.Add((watch, stop));
                    Assert.Equal("opened", Type(await NextAsync(watch)));
                }
            }

            var seventeenth = await FirstWatchEventAsync(await CookieHubAsync(cookie), runIds[2]);
            var otherAdmin = await FirstWatchEventAsync(await CookieHubAsync(otherAdminUser), runIds[2]);

            Assert.Equal("error", Type(seventeenth));
            Assert.Equal($"you already watch {LiveWatchStreams.MaxWatchesPerViewer} runs, the most one person may watch at once: close one first", seventeenth.GetProperty("message").GetString());
            Assert.Equal("opened", Type(otherAdmin));

            // One watch closed: its place is the admin's again (the server lets go of it as the stream's cancel arrives).
            await watches[0].Stop.CancelAsync();
            await watches[0].Stream.DisposeAsync();
            var deadline = DateTime.UtcNow + Timeout;
            var again = await FirstWatchEventAsync(await CookieHubAsync(cookie), runIds[2]);
            while (Type(again) == "error" && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                again = await FirstWatchEventAsync(await CookieHubAsync(cookie), runIds[2]);
            }

            Assert.Equal("opened", Type(again));
            foreach (var (stream, stop) in watches.Skip(1))
            {
                await stop.CancelAsync();
                await stream.DisposeAsync();
                stop.Dispose();
            }
        }
        finally
        {
            await stopRuns.CancelAsync();
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_admin_ends_a_students_ws_session_from_live_watch_and_it_is_audited()
    {
        var (studentUser, student) = await UserAsync(App, IrisRoles.Student, "student");
        var (instructorUser, instructor) = await UserAsync(App, IrisRoles.Instructor, "instructor");
        var course = await CreateAsync(App, instructor);
        await JoinAsync(App, student, course);
        await using var scope = App.Services.CreateAsyncScope();
        var token = await scope.ServiceProvider.GetRequiredService<AccessTokenService>().CreateAsync(studentUser, "ws", null, null, studentUser.Id, CancellationToken.None).WaitAsync(Timeout);
        Assert.True(token.Succeeded, token.Error);
        await using var ws = await IrisIde.Tests.Protocol.RunnerTestClient.ConnectAsync(
            new Uri(App.WebSocketUri + "?course=" + course.Id), new Dictionary<string, string> { ["Authorization"] = "Bearer " + token.Created!.Token });
        await ws.SendCodeAsync("python", "print('up', flush=True)\ninput()\n");
        await ws.WaitForStdoutAsync("up").WaitAsync(Timeout);
        var live = App.Services.GetRequiredService<LiveRuns>();
        var run = Assert.Single(live.List(), r => r.Info.Owner == studentUser.Id);
        Assert.Equal("ws", run.Info.Surface);
        var ending = App.Services.GetRequiredService<LiveRunEnding>();

        var byInstructor = ending.End(Principal(instructorUser.Id, IrisRoles.Instructor), run.Info.RunId);
        var byAdmin = ending.End(Principal("admin-ending-a-ws-run", IrisRoles.Admin), run.Info.RunId);

        Assert.False(byInstructor);
        Assert.True(byAdmin);
        await ws.ReadToEndAsync().WaitAsync(Timeout);
        Assert.Contains("killed", ws.One("exit").GetRawText(), StringComparison.Ordinal);
        Assert.Null(live.Find(run.Info.RunId));
        var refused = Assert.Single(await IrisIde.Tests.Audit.AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SessionEndedByAdmin && e.ActorId == instructorUser.Id));
        Assert.Equal((AuditOutcome.Failure, "not an admin"), (refused.Outcome, refused.Detail));
        var ended = Assert.Single(await IrisIde.Tests.Audit.AuditTestSupport.WaitForAsync(App, e => e.Action == AuditActions.SessionEndedByAdmin && e.ActorId == "admin-ending-a-ws-run"));
        Assert.Equal(($"run {run.Info.RunId:N}", AuditOutcome.Success), (ended.Target, ended.Outcome));
        Assert.Contains("on ws of user " + studentUser.Id, ended.Detail, StringComparison.Ordinal);
        Assert.False(ending.End(Principal("admin-ending-a-ws-run", IrisRoles.Admin), run.Info.RunId));
    }

    private static System.Security.Claims.ClaimsPrincipal Principal(string userId, string role) =>
        new(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.NameIdentifier, userId), new(System.Security.Claims.ClaimTypes.Role, role)],
            authenticationType: "test"));

    private static object Request(string source, Guid course) =>
        new { language = "python", files = new[] { new { name = "", content = source } }, course = course.ToString() };

    private static string? Type(JsonElement item) => item.GetProperty("type").GetString();

    private static async Task<JsonElement> NextAsync(IAsyncEnumerator<JsonElement> events) =>
        await events.MoveNextAsync().AsTask().WaitAsync(Timeout) ? events.Current : throw new InvalidOperationException("the stream ended");

    private static async Task<string> RunIdAsync(IAsyncEnumerator<JsonElement> run)
    {
        var started = await NextAsync(run);
        Assert.True(Type(started) == "started", $"expected the run to start: {started}");
        return started.GetProperty("runId").GetString()!;
    }

    private static async Task ReadUntilAsync(IAsyncEnumerator<JsonElement> run, string type, string? text)
    {
        var seen = new StringBuilder();
        while (true)
        {
            var item = await NextAsync(run);
            if (Type(item) == type && (text is null || seen.Append(item.GetProperty("data").GetString()).ToString().Contains(text, StringComparison.Ordinal)))
            {
                return;
            }

            Assert.False(Type(item) is "error" or "exit", $"the run ended before {type} '{text}': {item}");
        }
    }

    private static async Task ReadWatchUntilAsync(IAsyncEnumerator<JsonElement> watch, StringBuilder watched, string text)
    {
        while (!watched.ToString().Contains(text, StringComparison.Ordinal))
        {
            var item = await NextAsync(watch);
            Assert.True(Type(item) == "chunk", $"expected output while watching for '{text}': {item}; so far {watched}");
            watched.Append(item.GetProperty("stream").GetString()).Append(':').Append(item.GetProperty("data").GetString()).Append('|');
        }
    }

    private static async Task<JsonElement> FirstWatchEventAsync(HubConnection hub, string runId)
    {
        await using var _ = hub;
        await foreach (var item in hub.StreamAsync<JsonElement>("WatchRun", runId).WithCancellation(CancellationToken.None))
        {
            return item;
        }

        throw new InvalidOperationException("the watch stream ended without an event");
    }

    private async Task<HubConnection> TokenHubAsync(IrisUser user)
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

    private async Task<HubConnection> CookieHubAsync(IrisUser user) => await CookieHubAsync(await CookieAsync(user));

    /// <summary>The Cookie header of a browser that signed in as <paramref name="user"/>.</summary>
    private async Task<string> CookieAsync(IrisUser user)
    {
        using var browser = new AccountTestClient(App.BaseAddress);
        await browser.SignInOrFailAsync(user.Email!, TestAccounts.Password);
        return string.Join("; ", browser.Cookies.GetAllCookies().Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Name}={c.Value}")));
    }

    private async Task<HubConnection> CookieHubAsync(string cookie)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(App.BaseAddress, "/hubs/execution"), options =>
            {
                options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                options.Headers["Cookie"] = cookie;
            })
            .Build();
        await connection.StartAsync().WaitAsync(Timeout);
        return connection;
    }
}
