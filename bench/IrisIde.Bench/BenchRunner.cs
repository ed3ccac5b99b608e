using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using IrisIde.Execution;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Bench;

/// <summary>
/// Every figure is measured next to its baseline in the same run, so the ratios hold on a noisy,
/// shared machine where absolute milliseconds do not.
/// </summary>
internal sealed class BenchRunner(BenchOptions options)
{
    private const string PythonHello = "print('Hello, World!')";
    private static readonly TimeSpan PauseBetweenRuns = TimeSpan.FromMilliseconds(150);
    private static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        PrintMachine();
        if (options.MemoryOnly)
        {
            await new IdleSessionMemoryBenchmark(options.Sessions).RunAsync(cancellationToken);
            return 0;
        }

        if (options.HistoryOnly)
        {
            await new HistoryBenchmark(options).RunAsync(cancellationToken);
            return 0;
        }

        if (options.PagingOnly)
        {
            await new PagingBenchmark(options).RunAsync(cancellationToken);
            return 0;
        }

        if (options.DockerOnly)
        {
            await new DockerSessionBenchmark(options).RunAsync(cancellationToken);
            return 0;
        }

        if (options.DashboardOnly)
        {
            // The figure issue 12 asks for: 200 active sessions.
            await new DashboardBenchmark(200).RunAsync(cancellationToken);
            return 0;
        }

        await using var services = BuildServices();
        var pipeline = services.GetRequiredService<RunPipeline>();
        if (options.BatchOnly)
        {
            await new BatchBenchmark(options.BatchJobs, options.BatchWarmUpJobs, pipeline).RunAsync(cancellationToken);
            return 0;
        }

        // Warm up both paths so one-off costs (JIT, page cache) are not in the figures. One run is not enough for the
        // sandboxed path: the tiered JIT optimizes the pipeline's methods only after they were called a few dozen
        // times, and a server that has run a few runs has them optimized.
        for (var i = 0; i < WarmUpRuns; i++)
        {
            await BareHelloAsync(cancellationToken);
            await SandboxedHelloAsync(pipeline, cancellationToken);
        }

        if (options.ThroughputOnly)
        {
            // Section 3 alone: a quick before/after of a change to a run's cost, or a window to profile.
            await PrintThroughputAsync(pipeline, bareBackToBackMedian: null, cancellationToken);
            return 0;
        }

        // Paced: a run every PauseBetweenRuns, as a class's runs come (seconds apart per student), so
        // what a run leaves behind (its teardown, the ready sandbox made for the next run) is not on the
        // next run's path. Back to back: the next run starts the moment the last one's result is in.
        var paced = await MeasureAsync(options.Runs, () => BareHelloAsync(cancellationToken), PauseBetweenRuns);
        var sandboxedPaced = await MeasureSamplesAsync(options.Runs, () => SandboxedHelloToResultAsync(pipeline, cancellationToken), PauseBetweenRuns);
        var bare = await MeasureAsync(options.Runs, () => BareHelloAsync(cancellationToken), TimeSpan.Zero);
        var sandboxed = await MeasureSamplesAsync(options.Runs, () => SandboxedHelloToResultAsync(pipeline, cancellationToken), TimeSpan.Zero);
        Console.WriteLine();
        Console.WriteLine("1. python3 hello, per run (wall time: bare until exit, sandboxed until its result event)");
        Console.WriteLine($"   one run every {PauseBetweenRuns.TotalMilliseconds:0} ms (a class's pace)");
        Console.WriteLine($"   bare process      {paced}");
        Console.WriteLine($"   sandboxed run     {sandboxedPaced}");
        Console.WriteLine(Ratio("   sandboxed / bare", sandboxedPaced, paced));
        Console.WriteLine("   back to back (each run starts when the last one's result is in)");
        Console.WriteLine($"   bare process      {bare}");
        Console.WriteLine($"   sandboxed run     {sandboxed}");
        Console.WriteLine(Ratio("   sandboxed / bare", sandboxed, bare));

        Console.WriteLine();
        Console.WriteLine("2. first output byte over /ws (connect, send code, first stdout message)");
        Stats firstByte;
        await using (var web = await WebAppProcess.StartAsync(cancellationToken))
        {
            firstByte = await MeasureWebSocketFirstByteAsync(web.Port, options.Runs, cancellationToken);
        }

        Console.WriteLine($"   bare process wall {bare}");
        Console.WriteLine($"   /ws first byte    {firstByte}");
        Console.WriteLine(Ratio("   /ws first byte / bare wall", firstByte, bare));

        await PrintThroughputAsync(pipeline, bare.Median, cancellationToken);

        await new HubBenchmark(options).RunAsync(cancellationToken);
        if (options.InteractiveOnly)
        {
            // Sections 1-4: what a student at the terminal feels, in a few minutes.
            return 0;
        }

        await new IdleSessionMemoryBenchmark(options.Sessions).RunAsync(cancellationToken);
        await new BatchBenchmark(options.BatchJobs, options.BatchWarmUpJobs, pipeline).RunAsync(cancellationToken);
        await new HistoryBenchmark(options).RunAsync(cancellationToken);
        await new PagingBenchmark(options).RunAsync(cancellationToken);
        return 0;
    }

    /// <summary>
    /// Section 3: bare and sandboxed runs, <see cref="BenchOptions.Parallel"/> at a time, their rates and the machine
    /// CPU each costs. <paramref name="bareBackToBackMedian"/> is section 1's, when it was measured.
    /// </summary>
    private async Task PrintThroughputAsync(RunPipeline pipeline, double? bareBackToBackMedian, CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine($"3. throughput, {options.ThroughputRuns} python3 hello runs, {options.Parallel} at a time, {Environment.ProcessorCount} cores");
        var bareCpu = MachineCpu.Now();
        var bareRate = await ThroughputAsync(() => BareHelloAsync(cancellationToken));
        var bareCpuPerRun = (MachineCpu.Now() - bareCpu) / options.ThroughputRuns;
        var sandboxCpu = MachineCpu.Now();
        var sandboxRate = await ThroughputAsync(() => SandboxedHelloAsync(pipeline, cancellationToken));
        var sandboxCpuPerRun = (MachineCpu.Now() - sandboxCpu) / options.ThroughputRuns;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   bare process      {bareRate,8:0.0} runs/s   machine CPU {bareCpuPerRun,6:0.0} ms per run"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   sandboxed run     {sandboxRate,8:0.0} runs/s   machine CPU {sandboxCpuPerRun,6:0.0} ms per run"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   sandboxed / bare  {sandboxRate / bareRate,8:0.00}x                   {sandboxCpuPerRun / bareCpuPerRun,6:0.00}x"));
        if (bareBackToBackMedian is { } backToBack)
        {
            // What the machine gives a second run at once: bare runs 2 at a time against one after another (section 1's
            // back-to-back median). Near 1x, work beside a run (a sandbox being set up) costs that run about its own CPU.
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"   bare, {options.Parallel} at a time / one after another: {bareRate / (1000 / backToBack):0.00}x the runs per second"));
        }
    }

    private static ServiceProvider BuildServices()
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        services.AddIrisExecution(configuration).AddBubblewrapSandbox();
        return services.BuildServiceProvider();
    }

    private static void PrintMachine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        Console.WriteLine($"IrisIde benchmark — {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC");
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {cpu}, {Environment.OSVersion.VersionString}, .NET {Environment.Version}");
        Console.WriteLine($"cgroups: {(File.Exists("/sys/fs/cgroup/cgroup.controllers") ? "v2" : "v1")}");
    }

    private static string Ratio(string label, Stats measured, Stats baseline) =>
        string.Create(CultureInfo.InvariantCulture, $"{label}: median {measured.Median / baseline.Median:0.00}x   p95 {measured.P95 / baseline.P95:0.00}x");

    private static async Task<Stats> MeasureSamplesAsync(int count, Func<Task<double>> sample, TimeSpan pause)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(pause);
            samples.Add(await sample());
        }

        return Stats.Of(samples);
    }

    private static async Task<Stats> MeasureAsync(int count, Func<Task> action, TimeSpan pause = default)
    {
        var samples = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            await Task.Delay(pause);
            var started = Stopwatch.GetTimestamp();
            await action();
            samples.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return Stats.Of(samples);
    }

    private Task<double> ThroughputAsync(Func<Task> action) => RunsPerSecondAsync(options.ThroughputRuns, options.Parallel, action);

    /// <summary>Runs of each kind before section 1's figures.</summary>
    private const int WarmUpRuns = 60;

    /// <summary>Runs <paramref name="action"/> <paramref name="count"/> times, <paramref name="parallel"/> at a time; runs per second.</summary>
    internal static async Task<double> RunsPerSecondAsync(int count, int parallel, Func<Task> action)
    {
        var remaining = count;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, parallel).Select(async _ =>
        {
            while (Interlocked.Decrement(ref remaining) >= 0)
            {
                await action();
            }
        });
        await Task.WhenAll(workers);
        return count / Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    private static async Task BareHelloAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(PythonHello);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0 || !output.Contains("Hello", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"bare python3 failed with exit code {process.ExitCode}");
        }
    }

    /// <summary>
    /// What a student waits for: from the request to the run's result (the <c>exit</c> a client gets).
    /// Removing the sandbox and the workspace follows the result and is not timed here; it is in the
    /// throughput figure, which waits for each run's end to end.
    /// </summary>
    private static async Task<double> SandboxedHelloToResultAsync(RunPipeline pipeline, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        await using var session = await pipeline.StartAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile("main.py", PythonHello)],
        }, cancellationToken);
        await foreach (var e in session.Events.ReadAllAsync(cancellationToken))
        {
            if (e is RunExited exited)
            {
                var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (exited.Outcome.Verdict != Verdict.Ok)
                {
                    throw new InvalidOperationException($"sandboxed python3 failed: {exited.Outcome.Verdict} {exited.Outcome.Message}");
                }

                await session.Completion.WaitAsync(RunTimeout, cancellationToken);
                return elapsed;
            }
        }

        throw new InvalidOperationException("the sandboxed run ended without a result");
    }

    private static Task SandboxedHelloAsync(RunPipeline pipeline, CancellationToken cancellationToken) =>
        SandboxedPythonAsync(pipeline, PythonHello, cancellationToken);

    /// <summary>One python program through the whole run pipeline; throws unless it ends <c>ok</c>.</summary>
    internal static async Task SandboxedPythonAsync(RunPipeline pipeline, string source, CancellationToken cancellationToken)
    {
        var events = await pipeline.RunToEndAsync(new RunRequest
        {
            Language = "python",
            Files = [new SourceFile("main.py", source)],
        }, cancellationToken).WaitAsync(RunTimeout, cancellationToken);
        var exit = events.OfType<RunExited>().Single();
        if (exit.Outcome.Verdict != Verdict.Ok)
        {
            throw new InvalidOperationException($"sandboxed python3 failed: {exit.Outcome.Verdict} {exit.Outcome.Message}");
        }
    }

    /// <summary>Connect to <c>/ws</c>, send a python hello, wait for its first stdout message: <paramref name="runs"/> times after one warm-up.</summary>
    internal static async Task<Stats> MeasureWebSocketFirstByteAsync(int port, int runs, CancellationToken cancellationToken)
    {
        var message = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["type"] = "code",
            ["language"] = "python",
            ["source"] = PythonHello,
        });
        async Task OnceAsync()
        {
            using var socket = new ClientWebSocket();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RunTimeout);
            await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/ws"), timeout.Token);
            await socket.SendAsync(message, WebSocketMessageType.Text, true, timeout.Token);
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, timeout.Token);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    throw new InvalidOperationException("/ws closed before any output");
                }

                if (Encoding.UTF8.GetString(buffer, 0, received.Count).Contains("\"stdout\"", StringComparison.Ordinal))
                {
                    break;
                }
            }

            await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }

        await OnceAsync();
        return await MeasureAsync(runs, OnceAsync);
    }
}

/// <summary>
/// CPU time the whole machine spent (every process and kernel thread, from <c>/proc/stat</c>), in
/// milliseconds: what a run costs including the kernel's work it causes elsewhere (namespace and
/// mount teardown in kernel workers), which no per-process counter shows.
/// </summary>
internal static class MachineCpu
{
    public static double Now()
    {
        var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // cpu user nice system idle iowait irq softirq steal ...: user, nice, system, irq, softirq.
        long busy = 0;
        foreach (var index in new[] { 1, 2, 3, 6, 7 })
        {
            busy += long.Parse(fields[index], CultureInfo.InvariantCulture);
        }

        return busy * 1000.0 / 100; // USER_HZ is 100 on Linux
    }
}
