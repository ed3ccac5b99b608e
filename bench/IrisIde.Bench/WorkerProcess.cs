using System.Collections.Concurrent;
using System.Diagnostics;

namespace IrisIde.Bench;

/// <summary>A real <c>IrisIde.Worker worker</c> process (built next to this benchmark) taking jobs from RabbitMQ.</summary>
internal sealed class WorkerProcess(Process process) : IAsyncDisposable
{
    private const string ReadyMarker = "takes jobs from";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    /// <summary>CPU time the worker process itself has used (not the sandboxed runs it started).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>Starts the worker and returns once it has logged that it takes jobs.</summary>
    public static async Task<WorkerProcess> StartAsync(string rabbitMq, string workerId, CancellationToken cancellationToken)
    {
        var dll = WebAppProcess.BuildOutput("IrisIde.Worker");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll),
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("worker");
        start.Environment["ConnectionStrings__RabbitMq"] = rabbitMq;
        start.Environment["Iris__Batch__WorkerId"] = workerId;
        // Quiet like the web app (Warning), except the one line that says the worker is ready: a
        // log line per job would cost the worker console time the in-process consumer does not pay.
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__IrisIde.Worker.WorkerAnnouncer"] = "Information";

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recent = new ConcurrentQueue<string>();
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            recent.Enqueue(e.Data);
            while (recent.Count > 40 && recent.TryDequeue(out _))
            {
            }

            if (e.Data.Contains(ReadyMarker, StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync(cancellationToken);
        try
        {
            if (await Task.WhenAny(ready.Task, exited).WaitAsync(StartTimeout, cancellationToken) == ready.Task)
            {
                return new WorkerProcess(process);
            }
        }
        catch (TimeoutException)
        {
        }

        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync(CancellationToken.None);
        var output = string.Join(Environment.NewLine, recent);
        process.Dispose();
        throw new InvalidOperationException(
            $"the worker did not log '{ReadyMarker}' within {StartTimeout.TotalSeconds:0} s; its last output:{Environment.NewLine}{output}");
    }

    public async ValueTask DisposeAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }
}
