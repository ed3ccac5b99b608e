using System.Diagnostics;
using IrisIde.Execution;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sessions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Runs;

/// <summary>
/// A run ends when its program ends even where a process the program started outlives it and holds its output open —
/// what a runner under gVisor cannot prevent (it cannot be the subreaper of the run there). Here a sandbox that contains
/// nothing stands for that case: the program is a real python process started as it is.
/// </summary>
[Trait("Needs", "Toolchains")]
public sealed class RunOutputGraceTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_run_ends_with_its_output_when_a_process_it_started_keeps_the_output_open()
    {
        var sandbox = new UncontainedSandbox();
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        services.AddSingleton<ISandbox>(sandbox);
        services.AddIrisExecution(configuration).AddConfiguredBackends();
        await using var provider = services.BuildServiceProvider();
        const string Program = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\n    os._exit(0)\nprint('parent done', flush=True)\n";

        try
        {
            var session = await provider.GetRequiredService<ISessionHost>()
                .StartAsync(RunRequestFactory.Interactive("python", [new SourceFile(string.Empty, Program)]), SessionOwner.System(SessionSurface.Hub), CancellationToken.None)
                .WaitAsync(Timeout);
            var output = new System.Text.StringBuilder();
            await foreach (var e in session.Events.ReadAllAsync().WithCancellation(new CancellationTokenSource(Timeout).Token))
            {
                if (e is OutputChunk chunk)
                {
                    output.Append(chunk.Text);
                }
            }

            var outcome = await session.Completion.WaitAsync(Timeout);
            await session.DisposeAsync();

            Assert.Equal(Verdict.Ok, outcome.Verdict);
            Assert.Equal("parent done\n", output.ToString());
            Assert.True(UncontainedSandbox.LeftOver().Count > 0, "the child was expected to outlive the program and hold its output");
        }
        finally
        {
            UncontainedSandbox.KillLeftOvers();
        }
    }

    /// <summary>Starts the command as a plain child process in its own session; contains nothing and ends nothing but it.</summary>
    private sealed class UncontainedSandbox : ISandbox
    {
        private static readonly string Marker = "IRIS_UNCONTAINED_" + Environment.ProcessId;

        public string Name => "uncontained";

        public Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
        {
            var start = new ProcessStartInfo("/usr/bin/setsid")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = spec.WorkspacePath,
            };
            foreach (var argument in spec.Command)
            {
                start.ArgumentList.Add(argument);
            }

            start.Environment[Marker] = "1";
            var process = Process.Start(start)!;
            return Task.FromResult<ISandboxProcess>(new Uncontained(process));
        }

        /// <summary>Processes of our programs still running, found by the variable only they were given.</summary>
        public static List<int> LeftOver() => Directory.EnumerateDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0 && IsOurs(pid))
            .ToList();

        public static void KillLeftOvers()
        {
            foreach (var pid in LeftOver())
            {
                try
                {
                    Process.GetProcessById(pid).Kill();
                }
                catch (Exception exception) when (exception is ArgumentException or InvalidOperationException)
                {
                    // Gone already.
                }
            }
        }

        private static bool IsOurs(int pid)
        {
            try
            {
                return File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains(Marker + "=1");
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }
    }

    private sealed class Uncontained(Process process) : ISandboxProcess
    {
        public Stream StandardInput => process.StandardInput.BaseStream;

        public Stream StandardOutput => process.StandardOutput.BaseStream;

        public Stream StandardError => process.StandardError.BaseStream;

        public Task<SandboxResult> Completion { get; } = WaitAsync(process);

        public void Kill(Verdict verdict, string? message = null) => process.Kill();

        public void Signal(int signal)
        {
        }

        public SandboxUsage? ReadUsage() => null;

        public ValueTask DisposeAsync()
        {
            process.Dispose();
            return ValueTask.CompletedTask;
        }

        private static async Task<SandboxResult> WaitAsync(Process process)
        {
            await process.WaitForExitAsync();
            return new SandboxResult(process.ExitCode, null, process.ExitCode == 0 ? Verdict.Ok : Verdict.RuntimeError, TimeSpan.Zero, TimeSpan.Zero, 0, null);
        }
    }
}
