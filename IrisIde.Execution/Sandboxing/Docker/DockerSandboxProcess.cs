using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using Docker.DotNet;
using Docker.DotNet.Models;
using IrisIde.Execution.Sessions.Docker;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Docker;

/// <summary>
/// One step in its container: the attached streams split into stdout and stderr, the limits watched every
/// 100 ms (wall time here; CPU time and peak memory from the container's cgroup, where the host shows it), and
/// the verdict from the program's status, the engine's OOM flag and our own kills. The container and the step's
/// status folder are removed before <see cref="Completion"/> completes.
/// </summary>
internal sealed class DockerSandboxProcess : ISandboxProcess
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly DockerEngine _engine;
    private readonly string _stepId;
    private readonly string _containerId;
    private readonly MultiplexedStream _attached;
    private readonly string _statusFolder;
    private readonly SandboxLimits _limits;
    private readonly Stopwatch _stopwatch;
    private readonly ILogger _logger;
    private readonly KillSwitch _kill = new();
    private readonly Pipe _stdout = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
    private readonly Pipe _stderr = new(new PipeOptions(pauseWriterThreshold: 1 << 20, resumeWriterThreshold: 1 << 19));
    private readonly ContainerCgroup _cgroup;
    private readonly Task _pump;
    private TimeSpan _cpu;
    private long _peak;

    public DockerSandboxProcess(DockerEngine engine, string stepId, string containerId, MultiplexedStream attached, string statusFolder, SandboxLimits limits, Stopwatch stopwatch, ILogger logger)
    {
        _engine = engine;
        _stepId = stepId;
        _containerId = containerId;
        _attached = attached;
        _statusFolder = statusFolder;
        _limits = limits;
        _stopwatch = stopwatch;
        _logger = logger;
        _cgroup = ContainerCgroup.Find(containerId);
        StandardInput = new AttachedInput(attached);
        StandardOutput = _stdout.Reader.AsStream();
        StandardError = _stderr.Reader.AsStream();
        _pump = Task.Run(PumpAsync);
        Completion = Task.Run(SuperviseAsync);
    }

    public Stream StandardInput { get; }

    public Stream StandardOutput { get; }

    public Stream StandardError { get; }

    public Task<SandboxResult> Completion { get; }

    public void Kill(Verdict verdict, string? message = null) => _kill.TryRequest(verdict, message);

    public SandboxUsage? ReadUsage() => Completion.IsCompleted ? null : new SandboxUsage(_cpu, Interlocked.Read(ref _peak));

    public void Signal(int signal)
    {
        // To the container's init, which passes it on to the program's shell.
        _ = _engine.CallAsync(
            "signal sandbox container",
            (client, token) => client.Containers.KillContainerAsync(_containerId, new ContainerKillParameters { Signal = signal.ToString(CultureInfo.InvariantCulture) }, token),
            CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
    }

    public async ValueTask DisposeAsync()
    {
        Kill(Verdict.Killed, "The run was ended.");
        try
        {
            await Completion.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (TimeoutException)
        {
            await _engine.RemoveContainerAsync(_containerId, CancellationToken.None);
        }

        StandardInput.Dispose();
        _attached.Dispose();
    }

    internal static void DeleteFolder(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Swept with the status root on the next start-up.
        }
    }

    private async Task PumpAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await _attached.ReadOutputAsync(buffer, 0, buffer.Length, CancellationToken.None);
                if (read.EOF || read.Count == 0)
                {
                    break;
                }

                // A reader that went away (the run stopped reading) completes the pipe: the rest is drained unread,
                // so the container is never held up by its own output.
                var target = read.Target == MultiplexedStream.TargetStream.StandardError ? _stderr.Writer : _stdout.Writer;
                await target.WriteAsync(buffer.AsMemory(0, read.Count));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The attach connection ended with the container; what came before it was delivered.
        }

        await _stdout.Writer.CompleteAsync();
        await _stderr.Writer.CompleteAsync();
    }

    private async Task<SandboxResult> SuperviseAsync()
    {
        var exited = _engine.Client.Containers.WaitContainerAsync(_containerId, CancellationToken.None);
        while (!exited.IsCompleted && !_kill.Requested.IsCompleted)
        {
            await Task.WhenAny(exited, _kill.Requested, Task.Delay(PollInterval));
            if (exited.IsCompleted || _kill.Requested.IsCompleted)
            {
                break;
            }

            Sample();
            if (_stopwatch.Elapsed >= _limits.WallTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.WallTimeExceeded(_limits.WallTime));
            }
            else if (_cpu > _limits.CpuTime)
            {
                Kill(Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
            }
        }

        _kill.MarkSupervisionOver();
        Sample();
        if (!exited.IsCompleted)
        {
            await KillContainerAsync();
        }

        long? containerExit = null;
        try
        {
            containerExit = (await exited.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or TimeoutException)
        {
            DockerSandboxLog.StepProblem(_logger, _stepId, $"waiting for the container failed: {e.Message}");
        }

        var wallTime = _stopwatch.Elapsed;
        var oomKilled = false;
        try
        {
            var state = await _engine.CallAsync("inspect sandbox container", (client, token) => client.Containers.InspectContainerAsync(_containerId, token), CancellationToken.None);
            oomKilled = state.State?.OOMKilled == true;
            containerExit ??= state.State?.ExitCode;
        }
        catch (DockerUnavailableException e)
        {
            DockerSandboxLog.StepProblem(_logger, _stepId, e.Message);
        }

        var status = ReadStatus();
        if (status is null && !oomKilled && _kill.Reason is null)
        {
            // The sandbox died without the program's status. Under gVisor, the sandbox itself is what the kernel's OOM
            // killer takes at the memory limit, and Docker misses the flag when that event reaches it after the exit.
            oomKilled = await _engine.ReportedOutOfMemoryAsync(
                _containerId, DateTimeOffset.UtcNow - wallTime - TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), CancellationToken.None);
        }

        await _engine.RemoveContainerAsync(_containerId, CancellationToken.None);
        DeleteFolder(_statusFolder);
        await _pump.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(static _ => { }, TaskScheduler.Default);

        int? exitCode = status;
        int? signal = null;
        if (status is > 128 and <= 128 + 64)
        {
            signal = status - 128;
            exitCode = null;
        }

        (Verdict Verdict, string? Message) outcome;
        if (_kill.Reason is { } reason)
        {
            outcome = reason;
        }
        else if (oomKilled)
        {
            outcome = (Verdict.MemoryLimit, KillSwitch.MemoryExceeded(_limits.MemoryBytes));
        }
        else if (status is null)
        {
            // The program's shell never wrote its status: the sandbox itself ended (a gVisor crash, say).
            outcome = (Verdict.InternalError, $"The sandbox ended without the program's status (container exit {containerExit?.ToString(CultureInfo.InvariantCulture) ?? "unknown"}).");
        }
        else if (signal == Interop.SIGXCPU || _cpu > _limits.CpuTime)
        {
            outcome = (Verdict.TimeLimit, KillSwitch.CpuTimeExceeded(_limits.CpuTime));
        }
        else
        {
            outcome = exitCode == 0 ? (Verdict.Ok, null) : (Verdict.RuntimeError, signal == Interop.SIGXFSZ ? "File size limit exceeded." : null);
        }

        if (_kill.Reason is not null && status is null)
        {
            // Our kill ended it before its shell could say anything.
            signal = Interop.SIGKILL;
        }

        DockerSandboxLog.StepEnded(_logger, _stepId, outcome.Verdict, exitCode, signal);
        return new SandboxResult(exitCode, signal, outcome.Verdict, wallTime, _cpu, Interlocked.Read(ref _peak), outcome.Message);
    }

    private async Task KillContainerAsync()
    {
        try
        {
            await _engine.CallAsync("kill sandbox container", (client, token) => client.Containers.KillContainerAsync(_containerId, new ContainerKillParameters { Signal = "SIGKILL" }, token), CancellationToken.None);
        }
        catch (DockerUnavailableException e)
        {
            // Already stopped, or the engine failed: the removal below forces it either way.
            DockerSandboxLog.StepProblem(_logger, _stepId, e.Message);
        }
    }

    private int? ReadStatus()
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(_statusFolder, "status")).Trim();
            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var status) && status <= 255 ? status : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Sample()
    {
        if (_cgroup.ReadCpu() is { } cpu)
        {
            _cpu = cpu;
        }

        if (_cgroup.ReadPeakMemory() is { } peak)
        {
            Interlocked.Exchange(ref _peak, Math.Max(Interlocked.Read(ref _peak), peak));
        }
    }

    /// <summary>The container's stdin: writes go to the attached stream; disposing half-closes it (end of file).</summary>
    private sealed class AttachedInput(MultiplexedStream attached) : Stream
    {
        private int _closed;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) != 0, this);
            return attached.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            new(WriteAsync(buffer.ToArray(), 0, buffer.Length, cancellationToken));

        protected override void Dispose(bool disposing)
        {
            if (disposing && Interlocked.Exchange(ref _closed, 1) == 0)
            {
                try
                {
                    attached.CloseWrite();
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException)
                {
                    // The container is gone already.
                }
            }

            base.Dispose(disposing);
        }
    }
}
