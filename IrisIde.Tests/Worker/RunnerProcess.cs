using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using IrisIde.Tests.Batch;
using IrisIde.Tests.Support;

namespace IrisIde.Tests.Worker;

/// <summary>
/// A real <c>IrisIde.Worker runner</c> process on a free loopback port, as a container or pod would run it,
/// so a session host can reach it only over the network.
/// </summary>
public sealed partial class RunnerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private RunnerProcess(Process process) => _process = process;

    /// <summary>The runner's base address, <c>http://127.0.0.1:port/</c>.</summary>
    public Uri BaseAddress { get; private set; } = default!;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the runner wrote so far (stdout and stderr interleaved).</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts a runner with <paramref name="settings"/> (configuration keys) and waits until it listens.</summary>
    public static async Task<RunnerProcess> StartAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(WorkerProcess.WorkerDll()),
        };
        start.ArgumentList.Add(WorkerProcess.WorkerDll());
        start.ArgumentList.Add("runner");
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add("http://127.0.0.1:0");
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the runner did not start");
        var runner = new RunnerProcess(process);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            runner._output.Enqueue(e.Data);
            if (ListeningLine().Match(e.Data) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value.TrimEnd('/') + "/"));
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var first = await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
        if (first != listening.Task)
        {
            await runner.DisposeAsync();
            throw new InvalidOperationException($"the runner did not start listening (exited: {process.HasExited}):\n{runner.Output}");
        }

        runner.BaseAddress = await listening.Task;
        return runner;
    }

    /// <summary>Stops the runner as an orchestrator would (SIGTERM, then SIGKILL if it does not stop in time).</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await TestServices.RunToolAsync("kill", "-TERM", _process.Id.ToString(CultureInfo.InvariantCulture));
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }

        _process.Dispose();
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
