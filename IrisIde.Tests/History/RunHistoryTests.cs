using System.Text.Json;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Tests.Protocol;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Courses;
using IrisIde.Web.History;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using static IrisIde.Tests.Courses.TestCourses;

namespace IrisIde.Tests.History;

/// <summary>The run history on SQLite: every surface recorded, transcripts, the cap, retention and the runs API.</summary>
public sealed class SqliteRunHistoryTests(HistoryAppFixture fixture) : RunHistoryTests, IClassFixture<HistoryAppFixture>
{
    protected override IrisWebApp App => fixture.App;

    /// <summary>
    /// The database refuses every write while another connection holds SQLite's write lock (its busy timeout cut to a
    /// second): the run still ends normally for its client; the history gives up the chunks it could not store, and
    /// once the lock is gone the run's row arrives anyway, marked incomplete. Its own app (same uids as the fixture's,
    /// which is idle while a test of its class runs).
    /// </summary>
    [Fact]
    public async Task A_run_goes_on_while_the_database_refuses_writes_and_its_record_then_says_incomplete()
    {
        var directory = IrisWebApp.CreateDataDirectory();
        var file = Path.Combine(directory, "iris.db");
        try
        {
            await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>(HistoryAppFixture.HistorySettings)
            {
                ["Iris:DataDirectory"] = directory,
                ["ConnectionStrings:Sqlite"] = $"Data Source={file};Default Timeout=1",
                ["Iris:Auth:AllowAnonymousRuns"] = "true",
                ["Iris:History:MaxWriteAttempts"] = "2",
            });
            var writer = app.Services.GetRequiredService<RunHistoryWriter>();
            await using (var blocker = new SqliteConnection($"Data Source={file}"))
            {
                await blocker.OpenAsync();
                // Holds the write lock until rolled back.
                await using var begin = new SqliteCommand("BEGIN IMMEDIATE;", blocker);
                await begin.ExecuteNonQueryAsync();
                await using (var client = await RunnerTestClient.ConnectAsync(app.WebSocketUri))
                {
                    await client.SendCodeAsync("python", "for i in range(5):\n    print('line', i, flush=True)\n");
                    await client.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    Assert.Equal(("ok", "line 0\nline 1\nline 2\nline 3\nline 4\n"), (client.One("exit").GetProperty("verdict").GetString(), client.Text("stdout")));
                }

                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (writer.DroppedChunks == 0 && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }

                Assert.True(writer.DroppedChunks > 0, "the writer never gave up a chunk");
                await using var rollback = new SqliteCommand("ROLLBACK;", blocker);
                await rollback.ExecuteNonQueryAsync();
            }

            var record = await HistoryStore.EndedAsync(app, r => r.Surface == RunSurfaces.WebSocket);
            Assert.Equal(("ok", true), (record.Verdict, record.TranscriptIncomplete));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

/// <summary>The same on the real PostgreSQL server.</summary>
[Trait("Needs", "Postgres")]
public sealed class PostgresRunHistoryTests(PostgresHistoryAppFixture fixture) : RunHistoryTests, IClassFixture<PostgresHistoryAppFixture>
{
    protected override IrisWebApp App => fixture.App;

    /// <summary>
    /// A slow database: another connection holds an exclusive lock on the transcript table while a run goes from
    /// start to end, so the history writer waits on it. The run is not held up; once the lock goes, the whole
    /// transcript is stored, nothing lost.
    /// </summary>
    [Fact]
    public async Task A_run_does_not_wait_for_a_database_that_holds_the_transcript_table_locked()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "pg-locked");
        await using (var blocker = new NpgsqlConnection(fixture.ConnectionString))
        {
            await blocker.OpenAsync();
            await using var locked = await blocker.BeginTransactionAsync();
            await using (var lockTable = new NpgsqlCommand("LOCK TABLE run_transcript_chunks IN ACCESS EXCLUSIVE MODE", blocker, locked))
            {
                await lockTable.ExecuteNonQueryAsync();
            }

            await using (var client = await RunnerTestClient.ConnectAsync(new Uri($"{App.WebSocketUri}?access_token={Uri.EscapeDataString(student.Token)}")))
            {
                await client.SendCodeAsync("python", "for i in range(3):\n    print('line', i, flush=True)\n");
                await client.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(20));
                Assert.Equal(("ok", "line 0\nline 1\nline 2\n"), (client.One("exit").GetProperty("verdict").GetString(), client.Text("stdout")));
            }

            await using (var count = new NpgsqlCommand("SELECT count(*) FROM runs WHERE \"Owner\" = @owner AND \"FinishedAtUtc\" IS NOT NULL", blocker, locked))
            {
                count.Parameters.AddWithValue("owner", student.Id);
                Assert.Equal(0L, (long)(await count.ExecuteScalarAsync())!);
            }

            await locked.RollbackAsync();
        }

        var record = await HistoryStore.EndedAsync(App, r => r.Owner == student.Id);
        var (_, transcript) = await student.GetAsync($"/api/v1/runs/{record.Id}/transcript");
        Assert.False(record.TranscriptIncomplete);
        Assert.Equal("line 0\nline 1\nline 2\n", string.Concat(transcript.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("stream").GetString() == "stdout").Select(e => e.GetProperty("data").GetString())));
    }
}

/// <summary>
/// Issue 11's recording and API, against the real app with real runs in the bubblewrap sandbox. Each test makes
/// its own users, so the tests of one app do not see each other's runs.
/// </summary>
public abstract class RunHistoryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    protected abstract IrisWebApp App { get; }

    [Fact]
    public async Task A_ws_run_is_recorded_with_its_output_and_the_input_the_program_got_in_time_order()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "ws");
        await using (var client = await RunnerTestClient.ConnectAsync(new Uri($"{App.WebSocketUri}?access_token={Uri.EscapeDataString(student.Token)}")))
        {
            await client.SendCodeAsync("python", "import sys\nname = input('Name? ')\nprint('Hello,', name)\nprint('bye', file=sys.stderr)\n");
            await client.WaitForStdoutAsync("Name? ").WaitAsync(Timeout);
            await client.SendInputAsync("Ann\r\n");
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("ok", client.One("exit").GetProperty("verdict").GetString());
        }

        var record = await HistoryStore.EndedAsync(App, r => r.Owner == student.Id);
        var (status, transcript) = await student.GetAsync($"/api/v1/runs/{record.Id}/transcript");
        var (runStatus, run) = await student.GetAsync($"/api/v1/runs/{record.Id}");

        Assert.Equal((RunSurfaces.WebSocket, "local", "python", "ok", 0, RunKind.Interactive), (record.Surface, record.Backend, record.Language, record.Verdict, record.ExitCode, record.Kind));
        Assert.Equal("import sys\nname = input('Name? ')\nprint('Hello,', name)\nprint('bye', file=sys.stderr)\n", JsonDocument.Parse(record.FilesJson).RootElement[0].GetProperty("content").GetString());
        Assert.NotNull(record.WallMs);
        Assert.Equal(200, status);
        Assert.False(transcript.GetProperty("truncated").GetBoolean());
        var events = Events(transcript);
        Assert.Equal(events.Select(e => e.T).Order(), events.Select(e => e.T));
        // stdout and stderr are two pipes read side by side: their order against each other is timing, each one's
        // own order and stdout's against the input the program waited for are not.
        // Python writes print's parts one by one, so stderr may land between "Hello, " and "Ann\n": each view is merged on its own.
        Assert.Equal(["stdout Name? ", "stdin Ann\n", "stdout Hello, Ann\n"], Merged([.. events.Where(e => e.Stream is TranscriptStreams.Stdout or TranscriptStreams.Stdin)]));
        Assert.Equal(["stderr bye\n"], Merged([.. events.Where(e => e.Stream == TranscriptStreams.Stderr)]));
        Assert.Equal("event started", $"{events[0].Stream} {events[0].Data}");
        Assert.Equal("event exit ok, code 0", $"{events[^1].Stream} {events[^1].Data}");
        Assert.Equal(200, runStatus);
        Assert.Equal(("ws", "completed", "ok"), (run.GetProperty("surface").GetString(), run.GetProperty("status").GetString(), run.GetProperty("result").GetProperty("verdict").GetString()));
        // No overrides asked: the server's interactive limits, as the program got them.
        var defaults = App.Services.GetRequiredService<IOptions<ExecutionOptions>>().Value.Interactive;
        var limits = run.GetProperty("limits");
        Assert.Equal(
            (defaults.WallSeconds, defaults.CpuSeconds, defaults.MemoryBytes, defaults.OutputBytes),
            (limits.GetProperty("wallSeconds").GetDouble(), limits.GetProperty("cpuSeconds").GetDouble(), limits.GetProperty("memoryBytes").GetInt64(), limits.GetProperty("outputBytes").GetInt64()));
    }

    [Fact]
    public async Task A_flood_of_signals_and_eofs_records_signals_at_the_rate_the_run_passes_them_and_one_eof()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "flood");
        const string Program = """
            import signal, sys
            caught = 0
            def count(*_):
                global caught
                caught += 1
            signal.signal(signal.SIGINT, count)
            print('ready', flush=True)
            sys.stdin.read()
            print('caught', caught, flush=True)
            """;
        var sending = System.Diagnostics.Stopwatch.StartNew();
        await using (var client = await RunnerTestClient.ConnectAsync(new Uri($"{App.WebSocketUri}?access_token={Uri.EscapeDataString(student.Token)}")))
        {
            await client.SendCodeAsync("python", Program);
            await client.WaitForStdoutAsync("ready\n").WaitAsync(Timeout);
            sending.Restart();
            for (var i = 0; i < 300; i++)
            {
                await client.SendTextAsync("""{"type":"signal","data":"SIGINT"}""");
            }

            for (var i = 0; i < 50; i++)
            {
                await client.SendTextAsync("""{"type":"eof"}""");
            }

            sending.Stop();
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal("ok", client.One("exit").GetProperty("verdict").GetString());
        }

        var record = await HistoryStore.EndedAsync(App, r => r.Owner == student.Id);
        var (status, transcript) = await student.GetAsync($"/api/v1/runs/{record.Id}/transcript");
        Assert.Equal(200, status);
        var events = Events(transcript);
        var signals = events.Count(e => e is { Stream: TranscriptStreams.Event, Data: "signal SIGINT" });
        // A burst of SignalAllowance.PerSecond, then that many a second while the client kept sending.
        var allowed = SignalAllowance.PerSecond + (int)Math.Ceiling(sending.Elapsed.TotalSeconds * SignalAllowance.PerSecond);
        Assert.InRange(signals, SignalAllowance.PerSecond, Math.Min(allowed, 300));
        Assert.Single(events, e => e is { Stream: TranscriptStreams.Event, Data: "stdin closed" });
        var caught = int.Parse(Merged([.. events.Where(e => e.Stream == TranscriptStreams.Stdout)])[0].Split(' ')[^1].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(caught, 1, signals);
    }

    [Fact]
    public async Task A_hub_run_in_a_course_is_recorded_under_its_id_with_the_signal_and_who_stopped_it()
    {
        using var instructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "hub-instructor");
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "hub");
        var course = await CreateAsync(App, instructor.Actor with { IsGlobalInstructor = true });
        await JoinAsync(App, student.Actor, course);
        await WithServiceAsync(App, s => s.UpdateSettingsAsync(instructor.Actor with { IsGlobalInstructor = true }, course.Id, new CourseSettings(null, null, 2, null, null, null), CancellationToken.None));
        await using var hub = new HubConnectionBuilder()
            .WithUrl(new Uri(App.BaseAddress, "/hubs/execution"), o => o.AccessTokenProvider = () => Task.FromResult<string?>(student.Token))
            .Build();
        await hub.StartAsync().WaitAsync(Timeout);
        var source = "import signal, time\nsignal.signal(signal.SIGINT, lambda *_: print('interrupted', flush=True))\nprint('ready', flush=True)\nline = input()\nprint('got', line, flush=True)\nwhile True:\n    time.sleep(0.05)\n";
        var request = new { language = "python", files = new[] { new { name = "", content = source } }, course = course.Id.ToString() };
        using var stop = new CancellationTokenSource();
        var stream = hub.StreamAsync<JsonElement>("StartRun", request, stop.Token).GetAsyncEnumerator(stop.Token);
        string? runId = null;
        var seen = new System.Text.StringBuilder();
        while (await stream.MoveNextAsync().AsTask().WaitAsync(Timeout))
        {
            var item = stream.Current;
            var type = item.GetProperty("type").GetString();
            if (type == "started")
            {
                runId = item.GetProperty("runId").GetString();
            }
            else if (type == "stdout")
            {
                seen.Append(item.GetProperty("data").GetString());
                if (seen.ToString() == "ready\n")
                {
                    await hub.InvokeAsync("SendInput", runId, "x\r\n").WaitAsync(Timeout);
                }
                else if (seen.ToString() == "ready\ngot x\n")
                {
                    await hub.InvokeAsync("Interrupt", runId).WaitAsync(Timeout);
                }
                else if (seen.ToString().EndsWith("interrupted\n", StringComparison.Ordinal))
                {
                    await hub.InvokeAsync("Stop", runId).WaitAsync(Timeout);
                }
            }
            else if (type is "exit" or "error")
            {
                break;
            }
        }

        await stream.DisposeAsync();
        Assert.NotNull(runId);
        var record = await HistoryStore.EndedAsync(App, r => r.Id == Guid.Parse(runId));
        var (_, transcript) = await student.GetAsync($"/api/v1/runs/{runId}/transcript");

        Assert.Equal((RunSurfaces.Ide, course.Id.ToString(), student.Id, "killed"), (record.Surface, record.Course, record.Owner, record.Verdict));
        var lines = Merged(Events(transcript));
        Assert.Equal(
            ["stdout ready\n", "stdin x\n", "stdout got x\n", "event signal SIGINT", "stdout interrupted\n", "event stopped (killed): stopped by the user"],
            lines.Where(l => !l.StartsWith("event started", StringComparison.Ordinal) && !l.StartsWith("event exit", StringComparison.Ordinal)));
        Assert.StartsWith("event exit killed", lines[^1], StringComparison.Ordinal);
        // The course's CPU time is what the program got (recorded as run, not as asked); the rest are the server's.
        using var limits = JsonDocument.Parse(record.LimitsJson);
        Assert.Equal(2, limits.RootElement.GetProperty("cpuSeconds").GetDouble());
        Assert.Equal(App.Services.GetRequiredService<IOptions<ExecutionOptions>>().Value.Interactive.WallSeconds, limits.RootElement.GetProperty("wallSeconds").GetDouble());
    }

    [Fact]
    public async Task A_batch_run_is_listed_as_batch_and_reads_like_any_other()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "batch");
        var (created, body) = await student.PostJsonAsync("/api/v1/runs", new { language = "python", files = new[] { new { name = "main.py", content = "print('batch')" } } });
        Assert.Equal(202, created);
        var id = body.GetProperty("id").GetString();
        var (_, run) = await student.GetAsync($"/api/v1/runs/{id}?wait=true");

        var (status, list) = await student.GetAsync("/api/v1/runs?surface=batch");
        var (_, transcript) = await student.GetAsync($"/api/v1/runs/{id}/transcript");

        Assert.Equal(("completed", "batch", "batch\n"), (run.GetProperty("status").GetString(), run.GetProperty("surface").GetString(), run.GetProperty("result").GetProperty("stdout").GetString()));
        Assert.Equal(200, status);
        var item = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal((id, "batch", "python", "ok", student.Id), (item.GetProperty("id").GetString(), item.GetProperty("surface").GetString(), item.GetProperty("language").GetString(), item.GetProperty("verdict").GetString(), item.GetProperty("owner").GetString()));
        Assert.Empty(transcript.GetProperty("events").EnumerateArray());
    }

    [Fact]
    public async Task A_transcript_that_crosses_the_cap_is_cut_there_with_a_marker_and_keeps_the_exit()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "cap");
        await using (var client = await RunnerTestClient.ConnectAsync(new Uri($"{App.WebSocketUri}?access_token={Uri.EscapeDataString(student.Token)}")))
        {
            // Well past the cap, in many writes; the client still gets all of it.
            await client.SendCodeAsync("python", "for i in range(400):\n    print(f'{i:04d} ' + 'x' * 45, flush=True)\n");
            await client.ReadToEndAsync().WaitAsync(Timeout);
            Assert.Equal(400 * 51, client.Text("stdout").Length);
        }

        var record = await HistoryStore.EndedAsync(App, r => r.Owner == student.Id);
        var (_, transcript) = await student.GetAsync($"/api/v1/runs/{record.Id}/transcript");

        Assert.True(record.TranscriptTruncated);
        Assert.True(transcript.GetProperty("truncated").GetBoolean());
        var events = Events(transcript);
        var cut = events.FindIndex(e => e.Stream == "event" && e.Data.StartsWith("transcript cut", StringComparison.Ordinal));
        Assert.True(cut > 0, "no cut marker: " + string.Join(" | ", events.Select(e => e.Data)));
        Assert.Equal(HistoryAppFixture.TranscriptCap, events.Take(cut).Sum(e => System.Text.Encoding.UTF8.GetByteCount(e.Data)));
        Assert.Equal(["event exit ok, code 0"], events.Skip(cut + 1).Select(e => $"{e.Stream} {e.Data}"));
        Assert.StartsWith("0000 xxx", string.Concat(events.Where(e => e.Stream == "stdout").Select(e => e.Data)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_caller_sees_their_own_runs_course_staff_their_courses_admins_all_and_others_a_404()
    {
        using var instructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "vis-instructor");
        using var ta = await HistoryUser.CreateAsync(App, IrisRoles.Student, "vis-ta");
        using var owner = await HistoryUser.CreateAsync(App, IrisRoles.Student, "vis-owner");
        using var classmate = await HistoryUser.CreateAsync(App, IrisRoles.Student, "vis-classmate");
        using var otherInstructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "vis-other");
        using var admin = await HistoryUser.CreateAsync(App, IrisRoles.Admin, "vis-admin");
        var course = await CreateAsync(App, instructor.Actor with { IsGlobalInstructor = true });
        await CreateAsync(App, otherInstructor.Actor with { IsGlobalInstructor = true }, "Another course");
        await JoinAsync(App, owner.Actor, course);
        await JoinAsync(App, classmate.Actor, course);
        await JoinAsync(App, ta.Actor, course);
        var promoted = await WithServiceAsync(App, s => s.SetRoleAsync(instructor.Actor with { IsGlobalInstructor = true }, course.Id, ta.Id, CourseRole.TeachingAssistant, CancellationToken.None));
        Assert.True(promoted.Succeeded, promoted.Error);
        var inCourse = await AddRunAsync(owner.Id, course.Id.ToString(), DateTime.UtcNow.AddMinutes(-2));
        var outside = await AddRunAsync(owner.Id, null, DateTime.UtcNow.AddMinutes(-1));

        async Task<string> SeesAsync(HistoryUser who, Guid run, bool byCookie)
        {
            var (one, _) = await who.GetAsync($"/api/v1/runs/{run}", byCookie);
            var (transcript, _) = await who.GetAsync($"/api/v1/runs/{run}/transcript", byCookie);
            var (_, list) = await who.GetAsync($"/api/v1/runs?user={owner.Id}&pageSize=100", byCookie);
            var listed = list.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("id").GetGuid() == run);
            return $"{one} {transcript} {(listed ? "listed" : "unlisted")}";
        }

        var seen = new List<string>();
        foreach (var (name, who, byCookie) in new[]
        {
            ("owner token", owner, false), ("owner cookie", owner, true), ("classmate", classmate, true), ("ta cookie", ta, true), ("ta token", ta, false),
            ("instructor", instructor, true), ("other instructor", otherInstructor, true), ("admin", admin, true),
        })
        {
            seen.Add($"{name}: course run {await SeesAsync(who, inCourse, byCookie)}, other run {await SeesAsync(who, outside, byCookie)}");
        }

        Assert.Equal(
        [
            "owner token: course run 200 200 listed, other run 200 200 listed",
            "owner cookie: course run 200 200 listed, other run 200 200 listed",
            "classmate: course run 404 404 unlisted, other run 404 404 unlisted",
            "ta cookie: course run 200 200 listed, other run 404 404 unlisted",
            "ta token: course run 404 404 unlisted, other run 404 404 unlisted",
            "instructor: course run 200 200 listed, other run 404 404 unlisted",
            "other instructor: course run 404 404 unlisted, other run 404 404 unlisted",
            "admin: course run 200 200 listed, other run 200 200 listed",
        ], seen);
    }

    [Fact]
    public async Task The_list_is_paged_newest_first_and_filtered_in_the_database_and_bad_values_are_400()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "paging");
        var course = Guid.CreateVersion7().ToString();
        var start = new DateTime(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
        var ids = new List<Guid>();
        for (var i = 0; i < 25; i++)
        {
            ids.Add(await AddRunAsync(student.Id, i % 5 == 0 ? course : null, start.AddHours(i), i % 2 == 0 ? "python" : "c", i % 3 == 0 ? "runtime_error" : "ok", i % 4 == 0 ? RunSurfaces.Ide : RunSurfaces.WebSocket));
        }

        var newestFirst = Enumerable.Reverse(ids).ToList();
        async Task<(int Total, string Ids)> PageAsync(string query)
        {
            var (status, body) = await student.GetAsync("/api/v1/runs?" + query);
            Assert.True(status == 200, $"{query}: {status} {body}");
            return (body.GetProperty("total").GetInt32(), string.Join(",", body.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetGuid())));
        }

        static string Joined(IEnumerable<Guid> ids) => string.Join(",", ids);

        Assert.Equal((25, Joined(newestFirst.Take(20))), await PageAsync(""));
        Assert.Equal((25, Joined(newestFirst.Skip(10).Take(10))), await PageAsync("page=2&pageSize=10"));
        Assert.Equal((25, Joined(newestFirst.Skip(20))), await PageAsync("page=3&pageSize=10"));
        Assert.Equal((25, ""), await PageAsync("page=4&pageSize=10"));
        Assert.Equal(13, (await PageAsync("language=python&pageSize=100")).Total);
        Assert.Equal(13, (await PageAsync("language=py&pageSize=100")).Total);
        Assert.Equal(9, (await PageAsync("verdict=runtime_error&pageSize=100")).Total);
        Assert.Equal(7, (await PageAsync("surface=ide&pageSize=100")).Total);
        Assert.Equal(5, (await PageAsync($"course={course}&pageSize=100")).Total);
        Assert.Equal(Joined(ids.Skip(2).Take(3).Reverse()), (await PageAsync("from=2026-03-01T14:00:00Z&to=2026-03-01T17:00:00Z")).Ids);
        Assert.Equal(13, (await PageAsync("from=2026-03-02")).Total);
        Assert.Equal(12, (await PageAsync("to=2026-03-01")).Total);
        Assert.Equal(3, (await PageAsync("language=python&verdict=runtime_error&surface=ide")).Total);
        Assert.Equal(0, (await PageAsync("surface=batch")).Total);
        Assert.Equal(0, (await PageAsync($"user={Guid.NewGuid()}")).Total);

        foreach (var (query, message) in new[]
        {
            ("page=0", "'page' must be a whole number of at least 1 (is '0')"),
            ("page=abc", "'page' must be a whole number of at least 1 (is 'abc')"),
            ("pageSize=101", "'pageSize' must be a whole number from 1 to 100 (is '101')"),
            ("pageSize=0", "'pageSize' must be a whole number from 1 to 100 (is '0')"),
            ("course=CS101", "'course' must be a course id (a GUID; is 'CS101')"),
            ("verdict=passed", "'verdict' must be one of ok, runtime_error, compile_error, time_limit, memory_limit, output_limit, killed, internal_error (is 'passed')"),
            ("surface=api", "'surface' must be one of ide, ws, batch (is 'api')"),
            ("from=yesterday", "'from' must be an ISO 8601 date or time such as 2026-11-30 or 2026-11-30T14:00:00Z (is 'yesterday')"),
            ("from=2026-03-03&to=2026-03-01", "'from' must not be after 'to'"),
        })
        {
            var (status, problem) = await student.GetAsync("/api/v1/runs?" + query);
            Assert.Equal((400, "Invalid runs query", message), (status, problem.GetProperty("title").GetString(), problem.GetProperty("detail").GetString()));
        }
    }

    [Fact]
    public async Task The_retention_purge_removes_old_transcripts_and_files_and_honours_a_course_s_own_days()
    {
        using var student = await HistoryUser.CreateAsync(App, IrisRoles.Student, "retention");
        using var instructor = await HistoryUser.CreateAsync(App, IrisRoles.Instructor, "retention-instructor");
        var strict = await CreateAsync(App, instructor.Actor with { IsGlobalInstructor = true }, "Keeps a week");
        await HistoryStore.WithDbAsync(App, db => db.Courses.Where(c => c.Id == strict.Id).ExecuteUpdateAsync(s => s.SetProperty(c => c.HistoryRetentionDays, 7)));
        var now = DateTime.UtcNow;
        var old = await AddRunAsync(student.Id, null, now.AddDays(-200), transcript: true);
        var recent = await AddRunAsync(student.Id, null, now.AddDays(-20), transcript: true);
        var strictRecent = await AddRunAsync(student.Id, strict.Id.ToString(), now.AddDays(-20), transcript: true);
        var strictNew = await AddRunAsync(student.Id, strict.Id.ToString(), now.AddDays(-1), transcript: true);

        await App.Services.GetRequiredService<HistoryRetentionPurge>().PurgeAsync(CancellationToken.None).WaitAsync(Timeout);

        var kept = new List<string>();
        foreach (var (name, id) in new[] { ("200 days", old), ("20 days", recent), ("20 days, course keeps 7", strictRecent), ("1 day, course keeps 7", strictNew) })
        {
            var (status, transcript) = await student.GetAsync($"/api/v1/runs/{id}/transcript");
            Assert.Equal(200, status);
            var files = "";
            await HistoryStore.WithDbAsync(App, async db => files = (await db.Runs.SingleAsync(r => r.Id == id)).FilesJson);
            kept.Add($"{name}: {transcript.GetProperty("events").GetArrayLength()} chunk(s), files {files}, expired {transcript.GetProperty("expired").GetBoolean()}");
        }

        Assert.Equal(
        [
            "200 days: 0 chunk(s), files [], expired True",
            "20 days: 2 chunk(s), files [{\"name\":\"main.py\",\"content\":\"print(1)\"}], expired False",
            "20 days, course keeps 7: 0 chunk(s), files [], expired True",
            "1 day, course keeps 7: 2 chunk(s), files [{\"name\":\"main.py\",\"content\":\"print(1)\"}], expired False",
        ], kept);
    }

    /// <summary>"stream data" per chunk, with neighbouring output chunks of one stream joined (a program's writes may arrive split).</summary>
    private static List<string> Merged(List<(long T, string Stream, string Data)> events)
    {
        var merged = new List<(string Stream, string Data)>();
        foreach (var (_, stream, data) in events)
        {
            if (stream != TranscriptStreams.Event && merged.Count > 0 && merged[^1].Stream == stream)
            {
                merged[^1] = (stream, merged[^1].Data + data);
            }
            else
            {
                merged.Add((stream, data));
            }
        }

        return [.. merged.Select(m => $"{m.Stream} {m.Data}")];
    }

    private static List<(long T, string Stream, string Data)> Events(JsonElement transcript) =>
        [.. transcript.GetProperty("events").EnumerateArray().Select(e => (e.GetProperty("t").GetInt64(), e.GetProperty("stream").GetString()!, e.GetProperty("data").GetString()!))];

    /// <summary>A finished interactive run stored directly (no program runs), optionally with a two-chunk transcript.</summary>
    private async Task<Guid> AddRunAsync(string owner, string? course, DateTime at, string language = "python", string verdict = "ok", string surface = RunSurfaces.Ide, bool transcript = false)
    {
        var id = Guid.CreateVersion7();
        await HistoryStore.WithDbAsync(App, db =>
        {
            db.Runs.Add(new RunRecord
            {
                Id = id,
                Owner = owner,
                Course = course,
                Kind = RunKind.Interactive,
                Surface = surface,
                Backend = "local",
                Status = RunRecordStatus.Completed,
                Language = language,
                FilesJson = "[{\"name\":\"main.py\",\"content\":\"print(1)\"}]",
                LimitsJson = "null",
                QueuedAtUtc = at,
                StartedAtUtc = at,
                FinishedAtUtc = at.AddSeconds(1),
                Verdict = verdict,
                ExitCode = verdict == "ok" ? 0 : 1,
            });
            if (transcript)
            {
                db.TranscriptChunks.Add(new RunTranscriptChunk { RunId = id, Sequence = 0, TimeMs = 3, Stream = TranscriptStreams.Stdout, Data = "1\n" });
                db.TranscriptChunks.Add(new RunTranscriptChunk { RunId = id, Sequence = 1, TimeMs = 4, Stream = TranscriptStreams.Event, Data = "exit ok, code 0" });
            }

            return db.SaveChangesAsync();
        });
        return id;
    }
}
