using System.Diagnostics;
using System.Globalization;
using IrisIde.Execution;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using IrisIde.Execution.Sessions.Docker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Bench;

/// <summary>
/// Section 9 (<c>--docker-only</c>): starting an interactive session on the Docker session host, from the warm
/// pool and cold (a container made for the session), against a local session (bubblewrap in this process) as the
/// baseline. Each sample: <see cref="ISessionHost.StartAsync"/> until the session is accepted ("start"), and until
/// the first stdout of <c>print('hi')</c> ("first output"); then the session runs to its end and is disposed
/// (its runner removed) untimed. Then batch jobs through the whole pipeline, bubblewrap vs. <c>Iris:Sandbox:Kind=Docker</c>. Needs a Docker engine with the runner image: <c>IRIS_BENCH_DOCKER</c> (else
/// <c>DOCKER_HOST</c>, else the standard socket) and <c>IRIS_BENCH_RUNNER_IMAGE</c> (else <c>iris-runner:local</c>);
/// <c>IRIS_BENCH_DOCKER_RUNTIME</c> picks the OCI runtime (else <c>runc</c>; <c>runsc</c> for gVisor).
/// </summary>
internal sealed class DockerSessionBenchmark(BenchOptions options)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static readonly SessionOwner Owner = new("user:bench", "bench", null, SessionSurface.WebSocket);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var endpoint = Environment.GetEnvironmentVariable("IRIS_BENCH_DOCKER") is { Length: > 0 } bench ? bench
            : Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host
            : "unix:///var/run/docker.sock";
        var image = Environment.GetEnvironmentVariable("IRIS_BENCH_RUNNER_IMAGE") is { Length: > 0 } named ? named : "iris-runner:local";
        var runtime = Environment.GetEnvironmentVariable("IRIS_BENCH_DOCKER_RUNTIME") is { Length: > 0 } oci ? oci : "runc";
        var samples = Math.Max(5, options.Runs);
        Console.WriteLine();
        Console.WriteLine($"9. Session start: Docker runner containers ({endpoint}, {image}, {runtime}) vs a local session, {samples} sessions each, one at a time");

        var local = await MeasureAsync(new Dictionary<string, string?> { ["Iris:Sessions:Host"] = "Local" }, samples, waitForPool: false, cancellationToken);
        var docker = new Dictionary<string, string?>
        {
            ["Iris:Sessions:Host"] = "Docker",
            ["Iris:Docker:Endpoint"] = endpoint,
            ["Iris:Sessions:Docker:Image"] = image,
            ["Iris:Docker:Runtime"] = runtime,
            ["Iris:Sessions:Docker:SocketDirectory"] = Path.Combine(Path.GetTempPath(), "iris-bench-runners-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture)),
        };
        if (runtime == "runsc")
        {
            // gVisor counts its own threads against the container's pids limit.
            docker["Iris:Sessions:Docker:PidsLimit"] = "1024";
        }

        var warm = await MeasureAsync(new Dictionary<string, string?>(docker) { ["Iris:Sessions:Docker:PoolSize"] = "1", ["Iris:Sessions:Docker:MaxPoolSize"] = "1" }, samples, waitForPool: true, cancellationToken);
        var cold = await MeasureAsync(new Dictionary<string, string?>(docker) { ["Iris:Sessions:Docker:PoolSize"] = "0", ["Iris:Sessions:Docker:MaxPoolSize"] = "0" }, samples, waitForPool: false, cancellationToken);

        Print("local session (bubblewrap, this process)", local);
        Print("Docker, from the warm pool", warm);
        Print("Docker, cold (container made per session)", cold);
        Console.WriteLine($"   CPU of the runner containers per session (each session uses up one runner: its start, its warm-up run and the");
        Console.WriteLine($"   session's own run; from the engine's parent cgroup):  warm {Cpu(warm.ContainerCpuMs)}   cold {Cpu(cold.ContainerCpuMs)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   start, median:        warm / local {warm.Start.Median / local.Start.Median,6:0.00}x   cold / local {cold.Start.Median / local.Start.Median,6:0.00}x   warm / cold {warm.Start.Median / cold.Start.Median,6:0.000}x   (target: warm ≤ 50 ms)"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   first output, median: warm / local {warm.FirstOutput.Median / local.FirstOutput.Median,6:0.00}x   cold / local {cold.FirstOutput.Median / local.FirstOutput.Median,6:0.00}x   warm / cold {warm.FirstOutput.Median / cold.FirstOutput.Median,6:0.000}x"));

        var bubblewrap = await MeasureJobsAsync(new Dictionary<string, string?> { ["Iris:Sandbox:Kind"] = "Bubblewrap" }, samples, cancellationToken);
        var dockerJobs = await MeasureJobsAsync(new Dictionary<string, string?>
        {
            ["Iris:Sandbox:Kind"] = "Docker",
            ["Iris:Docker:Endpoint"] = endpoint,
            ["Iris:Sandbox:Docker:Image"] = image,
            ["Iris:Docker:Runtime"] = runtime,
        }, samples, cancellationToken);
        Console.WriteLine($"   batch job (python hello, whole pipeline, one at a time), bubblewrap  {bubblewrap}");
        Console.WriteLine($"   batch job (python hello, whole pipeline, one at a time), Docker/{runtime,-4} {dockerJobs}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   per job, median: Docker / bubblewrap {dockerJobs.Median / bubblewrap.Median,6:0.00}x"));
    }

    private static async Task<Stats> MeasureJobsAsync(Dictionary<string, string?> settings, int samples, CancellationToken cancellationToken)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddEnvironmentVariables().Build();
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        collection.AddIrisExecution(configuration).AddConfiguredBackends();
        await using var services = collection.BuildServiceProvider();
        var pipeline = services.GetRequiredService<RunPipeline>();
        var walls = new List<double>();
        for (var i = -1; i < samples; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            await BenchRunner.SandboxedPythonAsync(pipeline, "print('Hello from Celery!')\n", cancellationToken);
            if (i >= 0)
            {
                walls.Add(stopwatch.Elapsed.TotalMilliseconds);
            }
        }

        return Stats.Of(walls);
    }

    private static string Cpu(double? ms) => ms is { } value ? string.Create(CultureInfo.InvariantCulture, $"{value,7:0} ms") : "not measured (no Docker parent cgroup found)";

    /// <summary>
    /// CPU time all containers of the engine have used, in nanoseconds, where the engine puts them under one parent
    /// cgroup (its default with the cgroupfs driver: <c>docker</c>, on cgroup v1 or v2); null elsewhere (the systemd driver).
    /// </summary>
    private static long? ContainersCpuNanoseconds()
    {
        if (File.Exists("/sys/fs/cgroup/cpuacct/docker/cpuacct.usage"))
        {
            return long.Parse(File.ReadAllText("/sys/fs/cgroup/cpuacct/docker/cpuacct.usage").Trim(), CultureInfo.InvariantCulture);
        }

        var usage = File.Exists("/sys/fs/cgroup/docker/cpu.stat")
            ? File.ReadLines("/sys/fs/cgroup/docker/cpu.stat").FirstOrDefault(l => l.StartsWith("usage_usec ", StringComparison.Ordinal))
            : null;
        return usage is null ? null : long.Parse(usage["usage_usec ".Length..], CultureInfo.InvariantCulture) * 1000;
    }

    private static void Print(string name, Figures figures)
    {
        Console.WriteLine($"   {name}");
        Console.WriteLine($"      start         {figures.Start}");
        Console.WriteLine($"      first output  {figures.FirstOutput}");
    }

    private sealed record Figures(Stats Start, Stats FirstOutput, double? ContainerCpuMs);

    private static async Task<Figures> MeasureAsync(Dictionary<string, string?> settings, int samples, bool waitForPool, CancellationToken cancellationToken)
    {
        settings["Iris:Admission:RunsPerMinutePerClient"] = "100000";
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).AddEnvironmentVariables().Build();
        var collection = new ServiceCollection();
        collection.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        collection.AddIrisExecution(configuration).AddConfiguredBackends();
        await using var services = collection.BuildServiceProvider();
        var host = services.GetRequiredService<ISessionHost>();
        var pool = services.GetService<DockerRunnerPool>();

        var start = new List<double>();
        var firstOutput = new List<double>();
        long? cpuBefore = null;
        // One untimed session first: the JIT, the language probe and the first runner image start are not the figure.
        for (var i = -1; i < samples; i++)
        {
            if (waitForPool && pool is not null)
            {
                await WaitForWaitingRunnerAsync(pool, cancellationToken);
            }

            if (i == 0)
            {
                cpuBefore = ContainersCpuNanoseconds();
            }

            var request = new RunRequest { Language = "python", Files = [new SourceFile("", "print('hi')\n")], Mode = RunMode.Interactive };
            var stopwatch = Stopwatch.StartNew();
            var session = await host.StartAsync(request, Owner, cancellationToken).WaitAsync(Timeout, cancellationToken);
            var started = stopwatch.Elapsed.TotalMilliseconds;
            double? output = null;
            await foreach (var e in session.Events.ReadAllAsync(cancellationToken).WithCancellation(cancellationToken))
            {
                if (output is null && e is OutputChunk { Stream: OutputStream.Stdout })
                {
                    output = stopwatch.Elapsed.TotalMilliseconds;
                }
            }

            var outcome = await session.Completion.WaitAsync(Timeout, cancellationToken);
            await session.DisposeAsync();
            if (outcome.Verdict != Verdict.Ok || output is null)
            {
                throw new InvalidOperationException($"a benchmark session ended {outcome.Verdict} without the expected output: {outcome.Message}");
            }

            if (i >= 0)
            {
                start.Add(started);
                firstOutput.Add(output.Value);
            }
        }

        // Measured sessions only; with a pool, the runner each of them used was started (and paid for) before it.
        var cpuAfter = ContainersCpuNanoseconds();
        var cpuMs = cpuBefore is { } before && cpuAfter is { } after ? (after - before) / 1e6 / samples : (double?)null;
        return new Figures(Stats.Of(start), Stats.Of(firstOutput), cpuMs);
    }

    private static async Task WaitForWaitingRunnerAsync(DockerRunnerPool pool, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (pool.Ready == 0)
        {
            if (deadline.Elapsed > Timeout)
            {
                throw new TimeoutException("the warm pool did not get a runner ready within 120 s");
            }

            pool.Replenish();
            await Task.Delay(20, cancellationToken);
        }
    }
}
