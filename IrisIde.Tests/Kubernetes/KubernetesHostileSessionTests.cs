using System.Globalization;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Tests.Docker;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// Programs a hostile student would write, each in a session through the Kubernetes session host (the in-test API
/// server's runner pods, bubblewrap standing in for the pod's VM). After each: a clear verdict, the pod deleted, its
/// runner process gone, nothing of the program left on the host, and the next session on a fresh pod works.
/// </summary>
public sealed class KubernetesHostileSessionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:hostile", "hostile", null, SessionSurface.WebSocket);

    /// <summary>Tighter interactive limits in the runners, so a bomb reaches its limit within seconds.</summary>
    private static readonly Dictionary<string, string?> TightRunners = new(KubernetesHostHarness.RunnerSandbox)
    {
        ["Iris:Sandbox:CgroupParent"] = "iris-k8s-hostile",
        ["Iris:Limits:Interactive:CpuSeconds"] = "3",
        ["Iris:Limits:Interactive:WallSeconds"] = "20",
        ["Iris:Limits:Interactive:MemoryBytes"] = (128L * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
    };

    public static TheoryData<string, string, string, Verdict[]> Bombs => new()
    {
        { "fork loop", "c", "#include <unistd.h>\nint main(void){ for(;;) { fork(); } }\n", [Verdict.TimeLimit, Verdict.Killed] },
        { "memory bomb", "c", "#include <stdlib.h>\n#include <string.h>\nint main(void){ for(;;){ char*p=malloc(1<<20); if(p) memset(p,1,1<<20);} }\n", [Verdict.MemoryLimit] },
        { "CPU burn in threads", "c", "#include <pthread.h>\nstatic void* spin(void*a){ for(volatile long i=0;;i++); return a; }\nint main(void){ pthread_t t[8]; for(int i=0;i<8;i++) pthread_create(&t[i],0,spin,0); pthread_join(t[0],0); }\n", [Verdict.TimeLimit] },
        { "stdout flood", "python", "import sys\nwhile True: sys.stdout.write('x' * 65536)\n", [Verdict.OutputLimit] },
        { "a child that outlives its parent", "python", "import os\nif os.fork() == 0:\n    os.setsid()\n    os.execvp('sleep', ['sleep', '{marker}'])\nimport time\ntime.sleep(3)\nprint('parent done')\n", [Verdict.Ok] },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task A_hostile_program_ends_with_its_verdict_and_takes_nothing_beyond_its_pod(string name, string language, string source, Verdict[] expected)
    {
        await using var harness = await KubernetesHostHarness.StartAsync(serverOptions: KubernetesHostHarness.ServerOptions() with { RunnerSettings = TightRunners });
        // A sleep of an hour and a unique fraction: a process with it on its command line is this test's.
        var marker = "3600." + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999).ToString(CultureInfo.InvariantCulture);
        source = source.Replace("{marker}", marker, StringComparison.Ordinal);

        var session = await harness.Host.StartAsync(new RunRequest { Language = language, Files = [new SourceFile("", source)], Mode = RunMode.Interactive }, Owner, CancellationToken.None).WaitAsync(Timeout);
        var pod = Assert.Single(harness.RunnerPods()).Metadata.Name;
        var pid = harness.Server.Kubelet.RunnerProcessId(pod, KubernetesHostHarness.Namespace)!.Value;
        var reading = DockerSessionHostTests.ReadToEndAsync(session);
        if (source.Contains(marker, StringComparison.Ordinal))
        {
            // The check below means something only if the child really ran.
            await KubernetesHostHarness.WaitUntilAsync(() => AnyProcessWith(marker), "the program's child to run");
        }

        var (_, outcome) = await reading;
        await session.DisposeAsync();

        Assert.True(expected.Contains(outcome.Verdict), $"{name}: {outcome.Verdict} (expected {string.Join(" or ", expected)})");
        await harness.WaitForPodsAsync(p => p.Count == 0, Timeout);
        await KubernetesHostHarness.WaitUntilAsync(() => !Directory.Exists($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}"), "the pod's runner process to exit");
        await KubernetesHostHarness.WaitUntilAsync(() => !AnyProcessWith(marker), "nothing of the program to be left");

        var next = await harness.Host.StartAsync(DockerSessionHostTests.Interactive("print('still fine')\n"), Owner, CancellationToken.None).WaitAsync(Timeout);
        var (output, after) = await DockerSessionHostTests.ReadToEndAsync(next);
        await next.DisposeAsync();
        Assert.Equal("still fine\n", output);
        Assert.Equal(Verdict.Ok, after.Verdict);
        // The second session had a pod of its own: two pods were deleted, the hostile one first.
        var deleted = harness.Server.Requests.Where(r => r.Method == "DELETE").Select(r => r.Path[(r.Path.LastIndexOf('/') + 1)..]).Distinct().ToList();
        Assert.Equal(2, deleted.Count);
        Assert.Equal(pod, deleted[0]);
    }

    private static bool AnyProcessWith(string marker) =>
        Directory.EnumerateDirectories("/proc").Any(dir =>
        {
            try
            {
                return int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out _)
                    && File.ReadAllText(Path.Combine(dir, "cmdline")).Contains(marker, StringComparison.Ordinal);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        });
}
