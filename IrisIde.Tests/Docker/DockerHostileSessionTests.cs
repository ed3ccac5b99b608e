using System.Globalization;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;

namespace IrisIde.Tests.Docker;

/// <summary>
/// Programs a hostile student would write, each in a session on a runner container of its own, under runc and under
/// gVisor. After each: a clear verdict, the runner container removed, and the next session (on a fresh runner) works. The runners get tight limits through <c>Iris:Sessions:Docker:RunnerSettings</c>,
/// so a bomb reaches them within seconds.
/// </summary>
/// <remarks>
/// The fork loop, the memory bomb and the child that leaves the session were found with this class (2026-12-03): the
/// runner died of the first (the container's pids were used up), the second ended as <c>runtime_error</c> on runc and
/// took the runner with it under gVisor, and the third kept the program's output open, so the session never ended.
/// </remarks>
[Trait("Needs", "Docker")]
public sealed class DockerHostileSessionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:hostile", "hostile", null, SessionSurface.WebSocket);

    private static readonly Dictionary<string, string?> TightRunners = new()
    {
        ["Iris:Sessions:Docker:RunnerSettings:Iris__Limits__Interactive__CpuSeconds"] = "3",
        ["Iris:Sessions:Docker:RunnerSettings:Iris__Limits__Interactive__WallSeconds"] = "20",
        ["Iris:Sessions:Docker:RunnerSettings:Iris__Limits__Interactive__MemoryBytes"] = (128L * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
    };

    public static TheoryData<string, string, string, string, Verdict[]> Bombs()
    {
        var bombs = new TheoryData<string, string, string, string, Verdict[]>();
        foreach (var runtime in new[] { "runc", "runsc" })
        {
            bombs.Add(runtime, "CPU burn in threads", "c", "#include <pthread.h>\nstatic void* spin(void*a){ for(volatile long i=0;;i++); return a; }\nint main(void){ pthread_t t[8]; for(int i=0;i<8;i++) pthread_create(&t[i],0,spin,0); pthread_join(t[0],0); }\n", [Verdict.TimeLimit]);
            bombs.Add(runtime, "stdout flood", "python", "import sys\nwhile True: sys.stdout.write('x' * 65536)\n", [Verdict.OutputLimit]);
            // Under gVisor the fork loop stops at its process limit inside, but gVisor's own host threads grow with every
            // fork attempt (past 1,700 in 6 s at 0.5 CPU, measured) until the container's pids limit ends the sandbox:
            // the session reports the runner lost (internal_error), never the program's exit — unless the run's CPU
            // limit ends it first (time_limit), which a fast moment of the machine allows (CI, 2026-12-03).
            bombs.Add(runtime, "fork loop", "c", "#include <unistd.h>\nint main(void){ for(;;) fork(); }\n",
                runtime == "runsc" ? [Verdict.InternalError, Verdict.TimeLimit] : [Verdict.TimeLimit]);
            bombs.Add(runtime, "memory bomb", "c", "#include <stdlib.h>\n#include <string.h>\nint main(void){ for(;;){ char*p=malloc(1<<20); if(p) memset(p,1,1<<20); } }\n", [Verdict.MemoryLimit]);
        }

        return bombs;
    }

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task A_hostile_program_ends_with_its_verdict_and_takes_nothing_beyond_its_runner(string runtime, string name, string language, string source, Verdict[] expected)
    {
        await using var harness = DockerHostHarness.Create(TightRunners, runtime);

        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive(source) with { Language = language }, Owner, CancellationToken.None).WaitAsync(Timeout);
        var runner = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));
        using (var client = DockerTestEngine.CreateClient())
        {
            // The tight limits are the runner's own configuration, given to it as environment.
            var environment = (await client.Containers.InspectContainerAsync(runner.ID)).Config!.Env;
            Assert.Contains("Iris__Limits__Interactive__CpuSeconds=3", environment);
            Assert.Contains("Iris__Limits__Interactive__WallSeconds=20", environment);
        }

        var (_, outcome) = await DockerSessionHostTests.ReadToEndAsync(session).WaitAsync(Timeout);
        await session.DisposeAsync();

        Assert.True(expected.Contains(outcome.Verdict), $"{runtime}, {name}: {outcome.Verdict} {outcome.Message} (expected {string.Join(" or ", expected)})");
        if (outcome.Verdict == Verdict.InternalError)
        {
            Assert.Contains("lost the runner", outcome.Message, StringComparison.Ordinal);
        }
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));

        var next = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("print('still fine')\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var nextRunner = Assert.Single(await DockerTestEngine.RunnersAsync(harness.Replica));
        var (output, after) = await DockerSessionHostTests.ReadToEndAsync(next).WaitAsync(Timeout);
        await next.DisposeAsync();
        Assert.Equal("still fine\n", output);
        Assert.Equal(Verdict.Ok, after.Verdict);
        Assert.NotEqual(runner.ID, nextRunner.ID);
    }

    [Theory]
    [InlineData("runc")]
    [InlineData("runsc")]
    public async Task A_child_that_leaves_the_session_ends_with_the_program(string runtime)
    {
        await using var harness = DockerHostHarness.Create(TightRunners, runtime);
        const string Program = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(1000)\nprint('parent done', flush=True)\n";

        var session = await harness.Host.StartAsync(DockerSessionHostTests.Interactive(Program), Owner, CancellationToken.None).WaitAsync(Timeout);
        var (output, outcome) = await DockerSessionHostTests.ReadToEndAsync(session).WaitAsync(Timeout);
        await session.DisposeAsync();

        // Held open by the child, the output would end only with the 20 s wall limit (time_limit), or never.
        Assert.Equal("parent done\n", output);
        Assert.Equal(Verdict.Ok, outcome.Verdict);
        Assert.Empty(await DockerTestEngine.WaitForRunnersAsync(harness.Replica, r => r.Count == 0, Timeout));
    }
}
