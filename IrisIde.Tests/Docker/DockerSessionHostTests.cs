using System.Diagnostics;
using System.Text;
using Docker.DotNet.Models;
using IrisIde.Execution.Admission;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Docker;

namespace IrisIde.Tests.Docker;

/// <summary>
/// <c>Iris:Sessions:Host=Docker</c> against the real dockerd of <c>./iris test</c> and the runner image built
/// offline: a fresh, locked-down runner container per session, removed whichever side ends the session, a
/// pool of waiting runners never reused, a cap checked before any container is made, and errors that say
/// what is wrong.
/// </summary>
[Trait("Needs", "Docker")]
[Collection(DockerReapers.Collection)]
public sealed class DockerSessionHostTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:docker-test", "docker-test", null, SessionSurface.WebSocket);

    [Fact]
    public async Task A_session_runs_on_a_locked_down_runner_container_of_its_own_which_is_removed_when_the_session_ends()
    {
        await using var harness = DockerHostHarness.Create();
        var session = await harness.Host.StartAsync(Interactive("name = input()\nprint('hello ' + name)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var runners = await DockerTestEngine.RunnersAsync(harness.Replica);
        var runner = Assert.Single(runners);

        using (var client = DockerTestEngine.CreateClient())
        {
            var inspected = await client.Containers.InspectContainerAsync(runner.ID);
            var host = inspected.HostConfig!;
            Assert.Equal("none", host.NetworkMode);
            Assert.True(host.ReadonlyRootfs);
            Assert.Equal(["ALL"], host.CapDrop);
            Assert.Contains("no-new-privileges", host.SecurityOpt);
            Assert.Equal(512L * 1024 * 1024, host.Memory);
            Assert.Equal(host.Memory, host.MemorySwap);
            Assert.Equal(500_000_000L, host.NanoCPUs);
            Assert.Equal(512L, host.PidsLimit);
            Assert.Equal("runc", host.Runtime);
            var config = inspected.Config!;
            Assert.Equal("10001:10001", config.User);
            Assert.DoesNotContain(inspected.NetworkSettings!.Networks!.Keys, n => n != "none");
            Assert.Equal("iris-runner", config.Labels["iris.app"]);
            Assert.Equal(harness.Replica, config.Labels["iris.replica"]);
            Assert.Equal(Owner.Key, config.Labels["iris.owner"]);
            Assert.True(long.Parse(config.Labels["iris.expires"], System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.ToUnixTimeSeconds());
            Assert.False(string.IsNullOrEmpty(config.Labels["iris.runner"]));
        }

        Assert.True(await session.WriteInputAsync("docker\n", CancellationToken.None));
        var (output, outcome) = await ReadToEndAsync(session);
        Assert.Equal("hello docker\n", output);
        Assert.Equal(Verdict.Ok, outcome.Verdict);
        await session.DisposeAsync();

        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task Under_gVisor_a_session_runs_in_a_runner_with_a_kernel_of_its_own_and_is_removed_at_its_end()
    {
        await using var harness = DockerHostHarness.Create(runtime: "runsc");
        var session = await harness.Host.StartAsync(
            Interactive("import platform\nname = input()\nprint(platform.release(), name)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var runner = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));
        using (var client = DockerTestEngine.CreateClient())
        {
            Assert.Equal("runsc", (await client.Containers.InspectContainerAsync(runner.ID)).HostConfig!.Runtime);
        }

        Assert.True(await session.WriteInputAsync("gvisor\n", CancellationToken.None));
        var (output, outcome) = await ReadToEndAsync(session);
        Assert.Equal(Verdict.Ok, outcome.Verdict);

        // gVisor answers with its own kernel's release, not the host's.
        Assert.EndsWith(" gvisor\n", output, StringComparison.Ordinal);
        Assert.NotEqual(Environment.OSVersion.Version.ToString(3), output.Split(' ')[0]);
        Assert.StartsWith("4.4.0", output, StringComparison.Ordinal);
        await session.DisposeAsync();
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task The_runner_side_ending_the_session_removes_the_container_without_the_client_disposing_it()
    {
        await using var harness = DockerHostHarness.Create();
        var session = await harness.Host.StartAsync(Interactive("print('done')\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var (_, outcome) = await ReadToEndAsync(session);
        Assert.Equal(Verdict.Ok, outcome.Verdict);

        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
        await session.DisposeAsync();
    }

    [Fact]
    public async Task The_client_ending_a_running_session_removes_the_container()
    {
        await using var harness = DockerHostHarness.Create();
        var session = await harness.Host.StartAsync(Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await ReadUntilAsync(session, "up");
        Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));

        await session.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(Verdict.Killed, (await session.Completion.WaitAsync(Timeout)).Verdict);
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task A_runner_container_killed_mid_session_ends_the_session_as_an_internal_error_and_is_removed()
    {
        await using var harness = DockerHostHarness.Create();
        var session = await harness.Host.StartAsync(Interactive("import time\nprint('up', flush=True)\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await ReadUntilAsync(session, "up");
        var runner = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));

        using (var client = DockerTestEngine.CreateClient())
        {
            await client.Containers.KillContainerAsync(runner.ID, new ContainerKillParameters { Signal = "SIGKILL" });
        }

        var outcome = await session.Completion.WaitAsync(Timeout);
        Assert.Equal(Verdict.InternalError, outcome.Verdict);
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
        await session.DisposeAsync();
    }

    [Fact]
    public async Task A_session_takes_a_waiting_runner_that_is_never_used_again_and_the_pool_refills_with_fresh_ones()
    {
        await using var harness = DockerHostHarness.Create(poolSize: 2);
        harness.Pool.Replenish();
        var waiting = await WaitForReadyAsync(harness, 2);
        var before = (await DockerTestEngine.RunnersAsync(harness.Replica)).Select(r => r.ID).ToHashSet();
        Assert.Equal(2, before.Count);

        var stopwatch = Stopwatch.StartNew();
        var session = await harness.Host.StartAsync(Interactive("print('pooled')\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var startMs = stopwatch.ElapsedMilliseconds;
        var (output, _) = await ReadToEndAsync(session);
        await session.DisposeAsync();
        Assert.Equal("pooled\n", output);

        // The session's runner was one of the waiting ones (no third container was needed), and it is gone.
        var after = await DockerTestEngine.WaitForRunnersAsync(
            harness.Replica, r => r.Count == 2 && r.Count(c => before.Contains(c.ID)) == 1 && r.All(c => c.State == "running"), Timeout);
        Assert.Equal(1, after.Count(c => before.Contains(c.ID)));
        Assert.Equal(2, after.Count);
        Assert.True(waiting >= 2);
        Console.WriteLine($"session start from the pool: {startMs} ms");
    }

    [Fact]
    public async Task The_pool_grows_after_a_session_found_no_waiting_runner_and_shrinks_back_when_demand_stops()
    {
        await using var harness = DockerHostHarness.Create(new Dictionary<string, string?>
        {
            ["Iris:Sessions:Docker:MaxPoolSize"] = "2",
            ["Iris:Sessions:Docker:MaxRunners"] = "3",
        });
        Assert.Equal(0, harness.Pool.Target);

        // No runner waits: the session starts one of its own, and the pool learns that one should have waited.
        var first = await harness.Host.StartAsync(Interactive("import time\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        Assert.Equal(1, harness.Pool.Target);
        harness.Pool.Replenish();
        await WaitForReadyAsync(harness, 1);

        // The next session takes it and the pool refills to its new size.
        var second = await harness.Host.StartAsync(Interactive("import time\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        await WaitForReadyAsync(harness, 1);
        Assert.Equal(3, (await DockerTestEngine.RunnersAsync(harness.Replica)).Count);

        // The first maintenance pass still sees the miss; the next one, with none since, lowers the size back to
        // the configured one and removes the runner waiting beyond it.
        await harness.Pool.MaintainAsync();
        Assert.Equal(1, harness.Pool.Target);
        await harness.Pool.MaintainAsync();
        Assert.Equal(0, harness.Pool.Target);
        Assert.Equal(0, harness.Pool.Ready);
        Assert.Equal(2, (await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 2, Timeout)).Count);

        await first.DisposeAsync();
        await second.DisposeAsync();
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task Past_the_runner_cap_a_session_is_refused_as_the_server_being_full_before_any_container_is_made()
    {
        await using var harness = DockerHostHarness.Create(new Dictionary<string, string?>
        {
            ["Iris:Sessions:Docker:MaxRunners"] = "1",
            ["Iris:Sessions:Docker:MaxPoolSize"] = "0",
        });
        var first = await harness.Host.StartAsync(Interactive("import time\ntime.sleep(300)\n"), Owner, CancellationToken.None).WaitAsync(Timeout);

        var refused = await Assert.ThrowsAsync<SessionRefusedException>(() => harness.Host.StartAsync(Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(AdmissionRefusal.AtCapacity, refused.Refusal);
        Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));
        await first.DisposeAsync();
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task A_runner_that_is_not_ready_in_time_fails_the_session_with_the_reason_and_is_removed()
    {
        await using var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Sessions:Docker:ReadyTimeoutSeconds"] = "0.05" });

        var failed = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(DockerFailure.RunnerFailed, failed.Kind);
        Assert.Contains("did not get ready within 0.05 s", failed.Message, StringComparison.Ordinal);
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }

    [Fact]
    public async Task A_missing_image_an_unknown_runtime_and_an_unreachable_daemon_each_say_so()
    {
        await using (var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Sessions:Docker:Image"] = "iris-no-such-image:none" }))
        {
            var missing = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(DockerFailure.ImageMissing, missing.Kind);
            Assert.Contains("iris-no-such-image:none", missing.Message, StringComparison.Ordinal);
            Assert.Empty(await DockerTestEngine.RunnersAsync(harness.Replica));
        }

        await using (var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Docker:Runtime"] = "no-such-runtime" }))
        {
            var unknown = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(DockerFailure.RuntimeUnknown, unknown.Kind);
            Assert.Contains("no-such-runtime", unknown.Message, StringComparison.Ordinal);
            Assert.Empty(await DockerTestEngine.RunnersAsync(harness.Replica));
        }

        var nowhere = "unix://" + Path.Combine(Path.GetTempPath(), "iris-no-docker-" + Guid.NewGuid().ToString("N")[..8] + ".sock");
        await using (var harness = DockerHostHarness.Create(new Dictionary<string, string?> { ["Iris:Docker:Endpoint"] = nowhere }))
        {
            var unreachable = await Assert.ThrowsAsync<DockerUnavailableException>(() => harness.Host.StartAsync(Interactive("print(1)\n"), Owner, CancellationToken.None).WaitAsync(Timeout));
            Assert.Equal(DockerFailure.Unreachable, unreachable.Kind);
            Assert.Contains("does not answer", unreachable.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_request_for_an_unknown_language_is_refused_without_taking_a_runner()
    {
        await using var harness = DockerHostHarness.Create();

        var refused = await Assert.ThrowsAsync<RunValidationException>(() => harness.Host.StartAsync(
            new RunRequest { Language = "cobol-85", Files = [new SourceFile("", "x")], Mode = RunMode.Interactive }, Owner, CancellationToken.None).WaitAsync(Timeout));

        Assert.Equal(RunRequestError.UnknownLanguage, refused.Error);
        Assert.Empty(await DockerTestEngine.RunnersAsync(harness.Replica));
    }

    [Fact]
    public async Task The_reaper_removes_runners_whose_web_app_is_gone_or_whose_time_is_up_and_keeps_the_others()
    {
        await using var harness = DockerHostHarness.Create();
        // A process that ran here and is gone: its pid names no process now (or another one, started later).
        using var gone = Process.Start(new ProcessStartInfo("true"))!;
        await gone.WaitForExitAsync();
        var goneReplica = DockerReplica.Describe(Environment.MachineName, gone.Id, 1);
        var future = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        var past = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();

        var orphan = await CreateLabelledAsync(goneReplica, future);
        var expired = await CreateLabelledAsync("elsewhere.1.1", past);
        var elsewhere = await CreateLabelledAsync("elsewhere.1.1", future);
        try
        {
            var removed = await harness.Reaper.ReapAsync(CancellationToken.None).WaitAsync(Timeout);

            var left = (await DockerTestEngine.RunnersAsync()).Select(r => r.ID).ToHashSet();
            Assert.DoesNotContain(orphan, left);
            Assert.DoesNotContain(expired, left);
            Assert.Contains(elsewhere, left);
            Assert.True(removed >= 2);
        }
        finally
        {
            using var client = DockerTestEngine.CreateClient();
            foreach (var id in new[] { orphan, expired, elsewhere })
            {
                try
                {
                    await client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
                }
                catch (global::Docker.DotNet.DockerContainerNotFoundException)
                {
                }
            }
        }
    }

    [Fact]
    public async Task The_languages_are_those_a_waiting_runner_reports_and_asking_does_not_use_it_up()
    {
        await using var harness = DockerHostHarness.Create(poolSize: 1);
        harness.Pool.Replenish();
        await WaitForReadyAsync(harness, 1);
        var before = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica)).ID;

        var languages = await harness.Host.GetLanguagesAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Contains(languages, l => l.Language.Id == "python" && l.IsAvailable && l.Version is not null);
        Assert.Equal(before, Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica)).ID);
        Assert.Equal(1, harness.Pool.Ready);
    }

    internal static RunRequest Interactive(string source) =>
        new() { Language = "python", Files = [new SourceFile("", source)], Mode = RunMode.Interactive };

    internal static async Task<(string Output, RunOutcome Outcome)> ReadToEndAsync(IRunSession session)
    {
        var output = new StringBuilder();
        await foreach (var e in session.Events.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
        {
            if (e is OutputChunk { Stream: OutputStream.Stdout } chunk)
            {
                output.Append(chunk.Text);
            }
        }

        return (output.ToString(), await session.Completion.WaitAsync(Timeout));
    }

    internal static async Task ReadUntilAsync(IRunSession session, string text)
    {
        var output = new StringBuilder();
        using var timeout = new CancellationTokenSource(Timeout);
        while (!output.ToString().Contains(text, StringComparison.Ordinal))
        {
            var e = await session.Events.ReadAsync(timeout.Token);
            if (e is OutputChunk chunk)
            {
                output.Append(chunk.Text);
            }
            else if (e is RunExited exited)
            {
                throw new InvalidOperationException($"the run ended before '{text}': {exited.Outcome}; output: {output}");
            }
        }
    }

    private static async Task<int> WaitForReadyAsync(DockerHostHarness harness, int count)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (harness.Pool.Ready < count && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        Assert.True(harness.Pool.Ready >= count, $"the pool has {harness.Pool.Ready} waiting runners, not {count}");
        return harness.Pool.Ready;
    }

    /// <summary>A container labelled as a runner of <paramref name="replica"/> (it only sleeps), for the reaper to judge.</summary>
    private static async Task<string> CreateLabelledAsync(string replica, long expires)
    {
        using var client = DockerTestEngine.CreateClient();
        var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = DockerTestEngine.RunnerImage,
            Entrypoint = ["/bin/sleep"],
            Cmd = ["300"],
            Labels = new Dictionary<string, string>
            {
                ["iris.app"] = "iris-runner",
                ["iris.runner"] = Guid.NewGuid().ToString("N")[..16],
                ["iris.replica"] = replica,
                ["iris.expires"] = expires.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        return created.ID;
    }
}
