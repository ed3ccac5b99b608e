using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using IrisIde.Tests.Support;

namespace IrisIde.Tests.Batch;

/// <summary>
/// A real <c>IrisIde.Worker worker</c> process (the build next to this test assembly's configuration), so a
/// test can kill it with SIGKILL or stop it with SIGTERM as an orchestrator would.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private WorkerProcess(Process process, string workerId)
    {
        _process = process;
        WorkerId = workerId;
    }

    public string WorkerId { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Its <c>/healthz</c>, when it was started with <c>Iris:Worker:HealthUrl</c>.</summary>
    public Uri? HealthUri { get; private set; }

    /// <summary>Everything the worker wrote so far (stdout and stderr interleaved).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts a worker on <paramref name="rabbitMq"/> and waits until it has connected and taken its queue.</summary>
    public static async Task<WorkerProcess> StartAsync(Uri rabbitMq, string workerId, IReadOnlyDictionary<string, string>? settings = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(WorkerDll()),
        };
        start.ArgumentList.Add(WorkerDll());
        start.ArgumentList.Add("worker");
        start.Environment["ConnectionStrings__RabbitMq"] = rabbitMq.ToString();
        start.Environment["Iris__Batch__WorkerId"] = workerId;
        start.Environment["Iris__Sandbox__CgroupParent"] = "iris-worker-tests";
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the worker did not start");
        var worker = new WorkerProcess(process, workerId);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            worker._output.Enqueue(e.Data);
            const string healthLine = "Worker health endpoint: ";
            if (e.Data.IndexOf(healthLine, StringComparison.Ordinal) is var at and >= 0)
            {
                worker.HealthUri = new Uri(e.Data[(at + healthLine.Length)..].Trim());
            }

            if (e.Data.Contains($"Worker {workerId} takes jobs from", StringComparison.Ordinal))
            {
                started.TrySetResult();
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // Generous: on a two-core machine shared with other test runs a .NET start can take a minute.
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(started.Task, exited, Task.Delay(TimeSpan.FromMinutes(3)));
        if (first != started.Task)
        {
            // Read before disposing: a disposed Process no longer knows whether it exited.
            var hasExited = process.HasExited;
            await worker.DisposeAsync();
            throw new InvalidOperationException($"worker {workerId} did not start (exited: {hasExited}):\n{worker.Output}");
        }

        return worker;
    }

    /// <summary>SIGKILL: no drain, no goodbye; its unacknowledged jobs go back to the queue.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM, as an orchestrator stops a container; returns the exit code once the worker has drained.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        await TestServices.RunToolAsync("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>Stops the worker as an orchestrator would (SIGTERM, then SIGKILL if it does not drain in time).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await TerminateAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        _process.Dispose();
    }

    internal static string WorkerDll()
    {
        // This assembly is in IrisIde.Tests/bin/<Configuration>/net10.0; the worker's own build output (with
        // its own deps and runtimeconfig) is in IrisIde.Worker/bin/<Configuration>/net10.0.
        var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
        var configuration = testOutput.Parent!.Name;
        var root = testOutput;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "IrisIde.sln")))
        {
            root = root.Parent;
        }

        var dll = root is null ? null : Path.Combine(root.FullName, "IrisIde.Worker", "bin", configuration, "net10.0", "IrisIde.Worker.dll");
        return dll is not null && File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"IrisIde.Worker is not built for {configuration}: build the solution first");
    }
}
