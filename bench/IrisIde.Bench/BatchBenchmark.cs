using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using IrisIde.Execution.Runs;

namespace IrisIde.Bench;

/// <summary>
/// Batch job throughput through the real web app, on the in-memory bus (consumer in the web app) and
/// on RabbitMQ with one <c>IrisIde.Worker worker</c> process, against the raw baseline of the same
/// programs run straight through <see cref="RunPipeline"/> in this process with the same concurrency
/// cap. The baseline is measured before and after the bus paths and averaged, so a machine that gets
/// busier or quieter during the section shows up as two different baselines instead of a skewed ratio.
/// </summary>
internal sealed class BatchBenchmark(int jobs, int warmUpJobs, RunPipeline pipeline)
{
    /// <summary>Iris:Batch:ConcurrentJobs' default: what one consumer runs at once, and the raw loop's cap.</summary>
    private const int ConcurrentJobs = 50;

    /// <summary>Clients posting jobs at once, like an autograder pushing a class's submissions.</summary>
    private const int Submitters = 8;

    /// <summary>Jobs run one at a time after the burst: queue wait with no backlog, i.e. the transport's own latency.</summary>
    private const int IdleJobs = 20;

    /// <summary>Measured batches per path at most, while the CPU per job still moves.</summary>
    private const int MaxMeasuredBatches = 5;

    /// <summary>Two batches whose web app CPU per job differ by no more than this share count as settled.</summary>
    private const double SettledWithin = 0.10;
    private const string CeleryHello = "print('Hello from Celery!')";
    private const string ExpectedStdout = "Hello from Celery!\n";
    private const string WorkerId = "bench-worker";
    private static readonly TimeSpan BatchTimeout = TimeSpan.FromMinutes(10);
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Console.WriteLine();
        Console.WriteLine($"6. batch jobs: {jobs} python3 `{CeleryHello}` jobs, at most {ConcurrentJobs} running at once on every path");
        Console.WriteLine($"   (Iris:Batch:ConcurrentJobs' default; the raw loop gets the same cap), {Environment.ProcessorCount} cores, jobs posted {Submitters} at a time,");
        Console.WriteLine($"   each path warmed up with {warmUpJobs} jobs first, then measured in batches of {jobs} until the web app's CPU per job");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   moves by at most {SettledWithin:P0} from one batch to the next (at most {MaxMeasuredBatches} batches); the last batch's figures are shown"));

        await RawLoopAsync(warmUpJobs, cancellationToken);
        var rawCpu = CurrentProcessorTime();
        var rawBefore = await RawLoopAsync(jobs, cancellationToken);
        var rawCpuMsPerJob = (CurrentProcessorTime() - rawCpu).TotalMilliseconds / jobs;
        var inMemory = await MeasureBusAsync(rabbitMq: null, cancellationToken);
        BusFigures rabbit;
        await using (var vhost = await RabbitMqVirtualHost.CreateAsync(cancellationToken))
        {
            rabbit = await MeasureBusAsync(vhost.ConnectionString, cancellationToken);
        }

        var rawAfter = await RawLoopAsync(jobs, cancellationToken);
        var raw = (rawBefore + rawAfter) / 2;

        Console.WriteLine(Line("raw RunPipeline loop", $"{raw,8:0.0} jobs/s   (before {rawBefore:0.0}, after {rawAfter:0.0})"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      .NET CPU per job, sandboxes aside: {rawCpuMsPerJob:0.0} ms (the pipeline's own, in every process that runs jobs)"));
        Print("in-memory bus, web app", inMemory, raw);
        Print("RabbitMQ, web app + 1 worker", rabbit, raw);
        Console.WriteLine("   queue wait = startedAt - queuedAt, end to end = finishedAt - queuedAt (GET /api/v1/runs/{id}); median = p50");
    }

    private static void Print(string label, BusFigures figures, double raw)
    {
        Console.WriteLine(Line(label, $"{figures.JobsPerSecond,8:0.0} jobs/s   {figures.JobsPerSecond / raw:0.00}x the raw loop"));
        Console.WriteLine($"      queue wait    {figures.QueueWait}");
        Console.WriteLine($"      end to end    {figures.EndToEnd}");
        Console.WriteLine($"      one at a time, queue wait  {figures.IdleQueueWait}");
        Console.WriteLine($"      one at a time, end to end  {figures.IdleEndToEnd}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      .NET CPU per job, sandboxes aside, settled ({figures.Batches} measured batches): {Cpu(figures.Steady)}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"      .NET CPU per job, first batch after the warm-up: {Cpu(figures.First)}"));
    }

    private static string Cpu(Batch batch) =>
        string.Create(CultureInfo.InvariantCulture, $"web app {batch.WebCpuMsPerJob:0.0} ms") +
        (batch.WorkerCpuMsPerJob is { } ms ? string.Create(CultureInfo.InvariantCulture, $", worker {ms:0.0} ms") : string.Empty);

    private static string Line(string label, FormattableString figure) =>
        $"   {label,-30} {figure.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>CPU time this process has used: during the raw loop, what the pipeline itself costs in .NET.</summary>
    private static TimeSpan CurrentProcessorTime()
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    private Task<double> RawLoopAsync(int count, CancellationToken cancellationToken) =>
        BenchRunner.RunsPerSecondAsync(count, Math.Min(count, ConcurrentJobs), () => BenchRunner.SandboxedPythonAsync(pipeline, CeleryHello, cancellationToken));

    /// <summary>
    /// A fresh web app (SQLite in a temporary data folder) and, for RabbitMQ, one worker: a warm-up batch,
    /// then measured batches until the web app's CPU per job settles (the JIT's tier-up is a start-up
    /// cost, not a per-job one); the figures are the last batch's, with the first one's CPU beside them.
    /// </summary>
    private async Task<BusFigures> MeasureBusAsync(string? rabbitMq, CancellationToken cancellationToken)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("iris-bench-");
        try
        {
            var environment = new Dictionary<string, string> { ["Iris__DataDirectory"] = dataDirectory.FullName };
            if (rabbitMq is not null)
            {
                environment["ConnectionStrings__RabbitMq"] = rabbitMq;
            }

            await using var web = await WebAppProcess.StartAsync(environment, cancellationToken);
            await using var worker = rabbitMq is null ? null : await WorkerProcess.StartAsync(rabbitMq, WorkerId, cancellationToken);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{web.Port}/") };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(BatchTimeout);

            await RunBatchAsync(http, warmUpJobs, rabbitMq is not null, timeout.Token);

            // The tiered JIT goes on recompiling hot paths for several hundred jobs after the warm-up, and
            // a server runs for days: measure batch after batch until the web app's CPU per job settles,
            // and report the first batch too, so the start-up share stays visible.
            Batch first = default, last = default;
            var batches = 0;
            while (batches < MaxMeasuredBatches)
            {
                var batch = await MeasureBatchAsync(http, web, worker, rabbitMq is not null, timeout.Token);
                batches++;
                var settled = batches > 1 && Math.Abs(batch.WebCpuMsPerJob - last.WebCpuMsPerJob) <= SettledWithin * last.WebCpuMsPerJob;
                if (batches == 1)
                {
                    first = batch;
                }

                last = batch;
                if (settled)
                {
                    break;
                }
            }

            var idle = new List<RunView>(IdleJobs);
            for (var i = 0; i < IdleJobs; i++)
            {
                idle.AddRange(await RunBatchAsync(http, 1, rabbitMq is not null, timeout.Token));
            }

            return new BusFigures(
                last.JobsPerSecond,
                QueueWait(last.Runs),
                EndToEnd(last.Runs),
                QueueWait(idle),
                EndToEnd(idle),
                first,
                last,
                batches);
        }
        finally
        {
            dataDirectory.Delete(recursive: true);
        }
    }

    /// <summary>One measured batch: its rate from the first post to the last job's <c>finishedAt</c>, and the .NET CPU each process spent per job.</summary>
    private async Task<Batch> MeasureBatchAsync(HttpClient http, WebAppProcess web, WorkerProcess? worker, bool onWorker, CancellationToken cancellationToken)
    {
        var webCpu = web.ProcessorTime;
        var workerCpu = worker?.ProcessorTime;
        var started = DateTime.UtcNow;
        var runs = await RunBatchAsync(http, jobs, onWorker, cancellationToken);
        var last = runs.Max(r => r.FinishedAt!.Value);
        return new Batch(
            runs,
            jobs / (last - started).TotalSeconds,
            (web.ProcessorTime - webCpu).TotalMilliseconds / jobs,
            (worker?.ProcessorTime - workerCpu)?.TotalMilliseconds / jobs);
    }

    private static Stats QueueWait(List<RunView> runs) => Stats.Of([.. runs.Select(r => (r.StartedAt!.Value - r.QueuedAt).TotalMilliseconds)]);

    private static Stats EndToEnd(List<RunView> runs) => Stats.Of([.. runs.Select(r => (r.FinishedAt!.Value - r.QueuedAt).TotalMilliseconds)]);

    /// <summary>Posts <paramref name="count"/> jobs, then waits for each in turn (one long poll at a time, to load the server little).</summary>
    private static async Task<List<RunView>> RunBatchAsync(HttpClient http, int count, bool onWorker, CancellationToken cancellationToken)
    {
        var ids = new Guid[count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, count),
            new ParallelOptions { MaxDegreeOfParallelism = Submitters, CancellationToken = cancellationToken },
            async (i, token) => ids[i] = await SubmitAsync(http, token));

        var runs = new List<RunView>(count);
        foreach (var id in ids)
        {
            var run = await WaitForEndAsync(http, id, cancellationToken);
            if (run.Status != "completed" || run.Result?.Verdict != "ok" || run.Result.Stdout != ExpectedStdout || run.StartedAt is null || run.FinishedAt is null)
            {
                throw new InvalidOperationException(
                    $"batch job {id} did not print the greeting: status {run.Status}, verdict {run.Result?.Verdict}, failure {run.FailureReason}, stdout {JsonSerializer.Serialize(run.Result?.Stdout)}");
            }

            if (onWorker && run.WorkerId != WorkerId)
            {
                throw new InvalidOperationException($"batch job {id} ran on '{run.WorkerId}', not on the benchmark's worker: is another worker on the vhost?");
            }

            runs.Add(run);
        }

        return runs;
    }

    private static async Task<Guid> SubmitAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var response = await http.PostAsJsonAsync(
            "api/v1/runs",
            new { language = "python", files = new[] { new { name = "main.py", content = CeleryHello } } },
            Json,
            cancellationToken);
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<RunView>(Json, cancellationToken);
        return created?.Id ?? throw new InvalidOperationException("POST /api/v1/runs answered without an id");
    }

    private static async Task<RunView> WaitForEndAsync(HttpClient http, Guid id, CancellationToken cancellationToken)
    {
        while (true)
        {
            var run = await http.GetFromJsonAsync<RunView>($"api/v1/runs/{id}?wait=true", Json, cancellationToken)
                ?? throw new InvalidOperationException($"GET /api/v1/runs/{id} answered null");
            if (run.Status is "completed" or "failed")
            {
                return run;
            }
        }
    }

    private sealed record BusFigures(
        double JobsPerSecond,
        Stats QueueWait,
        Stats EndToEnd,
        Stats IdleQueueWait,
        Stats IdleEndToEnd,
        Batch First,
        Batch Steady,
        int Batches);

    private readonly record struct Batch(List<RunView> Runs, double JobsPerSecond, double WebCpuMsPerJob, double? WorkerCpuMsPerJob);

    /// <summary>The part of <c>GET /api/v1/runs/{id}</c> (and of the 202 of <c>POST</c>) the benchmark reads.</summary>
    private sealed record RunView(
        Guid Id,
        string Status,
        DateTime QueuedAt,
        DateTime? StartedAt,
        DateTime? FinishedAt,
        RunResultView? Result,
        string? FailureReason,
        string? WorkerId);

    private sealed record RunResultView(string? Verdict, string Stdout);
}
