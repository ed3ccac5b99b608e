using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using IrisIde.Tests.Batch;
using k8s.Models;

namespace IrisIde.Tests.Kubernetes;

/// <summary>
/// The scheduler and kubelet of a one-node cluster for <see cref="TestKubernetesApiServer"/>: each runner pod
/// (label <c>app.kubernetes.io/component=runner</c>) is scheduled against the node's CPU, its image "pulled" from a
/// fixed set, and its container run as a real <c>IrisIde.Worker runner</c> process on a loopback address of its own
/// (127.77.x.y; Linux routes all of 127/8 to lo), so the pod IP and container port are reached over the network as
/// in a cluster. Every step is written back to the pod's status with a new resource version, as the real components
/// report it. No runner process outlives the pod or the server.
/// </summary>
/// <remarks>
/// Lifecycle: each pod gets one task that walks it through scheduling, pull, start and readiness probes and then waits
/// for the process to exit. Stopping a pod cancels that task first and only then kills the process it may have
/// started, so a process started while the pod was being deleted cannot be missed.
/// </remarks>
public sealed class TestKubelet : IAsyncDisposable
{
    public const string RunnerLabel = "app.kubernetes.io/component";

    public const string RunnerLabelValue = "runner";

    public const string NodeName = "iris-test-node";

    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);
    // A random start per process: two test processes at once rarely walk the same addresses.
    private static int _lastAddress = Random.Shared.Next(0, 60_000);

    private readonly PodStore _store;
    private readonly TestKubernetesApiServerOptions _options;
    private readonly ConcurrentDictionary<string, RunnerPod> _pods = new(StringComparer.Ordinal);
    private readonly HttpClient _probes = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero });

    internal TestKubelet(PodStore store, TestKubernetesApiServerOptions options) => (_store, _options) = (store, options);

    /// <summary>When set, runners run but their readiness probe is reported failing, so no pod becomes Ready.</summary>
    public bool NeverReady { get; set; }

    /// <summary>The pid of a pod's runner process, once started.</summary>
    public int? RunnerProcessId(string podName, string @namespace = "default") => Find(podName, @namespace)?.ProcessId;

    /// <summary>How many readiness probes the kubelet has made against a pod's runner (so a test can wait for probes to have happened).</summary>
    public int ReadinessProbes(string podName, string @namespace = "default") => Find(podName, @namespace)?.Probes ?? 0;

    /// <summary>Everything a pod's runner wrote so far (stdout and stderr interleaved), for a failing test's message.</summary>
    public string RunnerOutput(string podName, string @namespace = "default") =>
        Find(podName, @namespace) is { } pod ? string.Join('\n', pod.Output) : string.Empty;

    /// <summary>SIGKILLs a pod's runner (and its sandboxes), as an OOM kill or a node failure would; the pod then fails.</summary>
    public async Task KillRunnerAsync(string podName, string @namespace = "default")
    {
        var process = Find(podName, @namespace)?.Process ?? throw new InvalidOperationException($"pod {podName} has no runner process");
        // Waiting first: the session ends at the kill, its pod is deleted and the process disposed, maybe before a
        // wait asked for after the kill could begin.
        var exited = process.WaitForExitAsync();
        process.Kill(entireProcessTree: true);
        await exited.WaitAsync(StopTimeout);
    }

    /// <summary>Kills every runner process and waits for each to exit.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var uid in _pods.Keys)
        {
            await StopPodAsync(uid);
        }

        _probes.Dispose();
    }

    /// <summary>Takes a newly created pod; a runner pod is scheduled and started in the background.</summary>
    internal void Schedule(V1Pod pod)
    {
        if (pod.Metadata.Labels?.TryGetValue(RunnerLabel, out var component) is not true || component != RunnerLabelValue)
        {
            return;
        }

        var runner = new RunnerPod(pod.Metadata.NamespaceProperty, pod.Metadata.Name, pod.Metadata.Uid);
        _pods[runner.Uid] = runner;
        runner.Lifecycle = Task.Run(async () =>
        {
            try
            {
                await RunAsync(pod, runner, runner.Stopping.Token);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                runner.Output.Enqueue($"kubelet: {e}");
            }
        });
    }

    /// <summary>Ends a pod's lifecycle, kills its runner if any and waits for it to exit.</summary>
    internal async Task StopPodAsync(string uid)
    {
        if (!_pods.TryRemove(uid, out var runner))
        {
            return;
        }

        await runner.Stopping.CancelAsync();
        try
        {
            await runner.Lifecycle.WaitAsync(StopTimeout);
        }
        catch (OperationCanceledException)
        {
            // What cancelling it is for.
        }

        if (runner.Process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync().WaitAsync(StopTimeout);
            process.Dispose();
        }

        runner.Stopping.Dispose();
    }

    private async Task RunAsync(V1Pod pod, RunnerPod runner, CancellationToken cancellationToken)
    {
        var container = pod.Spec.Containers[0];
        if (container.Resources?.Requests?.TryGetValue("cpu", out var cpu) is true && cpu.ToDecimal() > _options.NodeAllocatableCpu.ToDecimal())
        {
            Change(runner, p => SetCondition(p, "PodScheduled", "False", "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu."));
            return;
        }

        Change(runner, p =>
        {
            p.Spec.NodeName = NodeName;
            SetCondition(p, "PodScheduled", "True");
        });
        if (!_options.PullableImages.Contains(container.Image))
        {
            await FailPullAsync(runner, container, cancellationToken);
            return;
        }

        var port = ContainerPort(container);
        var address = FreeAddress(port);
        var process = StartRunner(runner, container, address, port);
        var startedAt = DateTime.UtcNow;
        Change(runner, p =>
        {
            p.Status.Phase = "Running";
            p.Status.PodIP = address.ToString();
            p.Status.PodIPs = [new V1PodIP { Ip = address.ToString() }];
            p.Status.HostIP = "127.0.0.1";
            p.Status.StartTime = startedAt;
            SetCondition(p, "Initialized", "True");
            SetCondition(p, "Ready", "False", "ContainersNotReady", $"containers with unready status: [{container.Name}]");
            SetCondition(p, "ContainersReady", "False", "ContainersNotReady", $"containers with unready status: [{container.Name}]");
            p.Status.ContainerStatuses = [ContainerStatus(container, new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = startedAt } }, ready: false)];
        });

        var exited = process.WaitForExitAsync(cancellationToken);
        await ProbeUntilExitAsync(runner, container, address, exited, cancellationToken);
        await exited;
        var exitCode = process.ExitCode;
        var finishedAt = DateTime.UtcNow;
        Change(runner, p =>
        {
            p.Status.Phase = exitCode == 0 ? "Succeeded" : "Failed";
            SetCondition(p, "Ready", "False", "PodFailed");
            SetCondition(p, "ContainersReady", "False", "PodFailed");
            p.Status.ContainerStatuses = [ContainerStatus(container, new V1ContainerState
            {
                Terminated = new V1ContainerStateTerminated
                {
                    ExitCode = exitCode,
                    Reason = exitCode == 0 ? "Completed" : "Error",
                    StartedAt = startedAt,
                    FinishedAt = finishedAt,
                },
            }, ready: false)];
        });
    }

    private async Task FailPullAsync(RunnerPod runner, V1Container container, CancellationToken cancellationToken)
    {
        var message = $"Failed to pull image \"{container.Image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{container.Image}\": not found";
        Change(runner, p => p.Status.ContainerStatuses = [ContainerStatus(container, new V1ContainerState
        {
            Waiting = new V1ContainerStateWaiting { Reason = "ErrImagePull", Message = message },
        }, ready: false)]);
        await Task.Delay(_options.ImagePullBackOffAfter, cancellationToken);
        Change(runner, p => p.Status.ContainerStatuses = [ContainerStatus(container, new V1ContainerState
        {
            Waiting = new V1ContainerStateWaiting { Reason = "ImagePullBackOff", Message = $"Back-off pulling image \"{container.Image}\"" },
        }, ready: false)]);
    }

    private Process StartRunner(RunnerPod runner, V1Container container, IPAddress address, int port)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(WorkerProcess.WorkerDll()),
        };
        start.ArgumentList.Add(WorkerProcess.WorkerDll());
        start.ArgumentList.Add("runner");
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        // What the runner image's own environment gives a runner in a real pod.
        foreach (var (name, value) in Deploy.RunnerImageRecipes.ImageRuntimeSettings)
        {
            start.Environment[name] = value;
        }

        foreach (var variable in container.Env ?? [])
        {
            if (variable.Value is not null)
            {
                start.Environment[variable.Name] = variable.Value;
            }
        }

        start.Environment["ASPNETCORE_URLS"] = $"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}";
        foreach (var (key, value) in _options.RunnerSettings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the runner did not start");
        void OnLine(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is not null)
            {
                runner.Output.Enqueue(e.Data);
            }
        }

        process.OutputDataReceived += OnLine;
        process.ErrorDataReceived += OnLine;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        runner.Process = process;
        runner.ProcessId = process.Id;
        return process;
    }

    private async Task ProbeUntilExitAsync(RunnerPod runner, V1Container container, IPAddress address, Task exited, CancellationToken cancellationToken)
    {
        var probe = container.ReadinessProbe;
        var ready = false;
        var failures = 0;
        while (!exited.IsCompleted)
        {
            var passed = probe?.HttpGet is null
                ? !NeverReady
                : await ProbeAsync(probe, container, address, cancellationToken) && !NeverReady;
            runner.Probes++;
            failures = passed ? 0 : failures + 1;
            if (passed != ready && !exited.IsCompleted && (passed || failures >= (probe?.FailureThreshold ?? 3)))
            {
                ready = passed;
                Change(runner, p =>
                {
                    var (reason, message) = ready ? ((string?)null, (string?)null) : ("ContainersNotReady", $"containers with unready status: [{container.Name}]");
                    SetCondition(p, "Ready", ready ? "True" : "False", reason, message);
                    SetCondition(p, "ContainersReady", ready ? "True" : "False", reason, message);
                    p.Status.ContainerStatuses[0].Ready = ready;
                });
            }

            await Task.WhenAny(exited, Task.Delay(_options.ProbePeriod, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private async Task<bool> ProbeAsync(V1Probe probe, V1Container container, IPAddress address, CancellationToken cancellationToken)
    {
        var port = probe.HttpGet.Port.Value is { } value && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            ? number
            : container.Ports?.FirstOrDefault(p => p.Name == probe.HttpGet.Port.Value)?.ContainerPort ?? ContainerPort(container);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(probe.TimeoutSeconds ?? 1));
        try
        {
            var uri = new Uri($"http://{address}:{port.ToString(CultureInfo.InvariantCulture)}{probe.HttpGet.Path ?? "/"}");
            using var response = await _probes.GetAsync(uri, timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }

    private void Change(RunnerPod runner, Action<V1Pod> change) => _store.Update(runner.Namespace, runner.Name, runner.Uid, change);

    private RunnerPod? Find(string podName, string @namespace) =>
        _pods.Values.FirstOrDefault(p => p.Name == podName && p.Namespace == @namespace);

    private static int ContainerPort(V1Container container) =>
        (container.Ports?.FirstOrDefault(p => p.Name == "http") ?? container.Ports?.FirstOrDefault())?.ContainerPort ?? 8080;

    /// <summary>
    /// The next loopback address whose <paramref name="port"/> nobody listens on: another test process on this machine
    /// (a second test run, a benchmark) counts from the same start, and a pod must not land on its runner's address.
    /// </summary>
    private static IPAddress FreeAddress(int port)
    {
        while (true)
        {
            var n = Interlocked.Increment(ref _lastAddress);
            var address = new IPAddress([127, 77, (byte)(n / 254 % 256), (byte)((n % 254) + 1)]);
            try
            {
                var probe = new System.Net.Sockets.TcpListener(address, port);
                probe.Start();
                probe.Stop();
                return address;
            }
            catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode is System.Net.Sockets.SocketError.AddressAlreadyInUse)
            {
            }
        }
    }

    private static V1ContainerStatus ContainerStatus(V1Container container, V1ContainerState state, bool ready) => new()
    {
        Name = container.Name,
        Image = container.Image,
        ImageID = string.Empty,
        Ready = ready,
        Started = state.Running is not null,
        RestartCount = 0,
        State = state,
    };

    private static void SetCondition(V1Pod pod, string type, string status, string? reason = null, string? message = null)
    {
        pod.Status.Conditions ??= [];
        var existing = pod.Status.Conditions.FirstOrDefault(c => c.Type == type);
        if (existing is null)
        {
            existing = new V1PodCondition { Type = type };
            pod.Status.Conditions.Add(existing);
        }

        if (existing.Status != status)
        {
            existing.LastTransitionTime = DateTime.UtcNow;
        }

        existing.Status = status;
        existing.Reason = reason;
        existing.Message = message;
    }

    /// <summary>What the kubelet keeps about one runner pod.</summary>
    private sealed class RunnerPod(string @namespace, string name, string uid)
    {
        public string Namespace { get; } = @namespace;

        public string Name { get; } = name;

        public string Uid { get; } = uid;

        public CancellationTokenSource Stopping { get; } = new();

        public Task Lifecycle { get; set; } = Task.CompletedTask;

        public Process? Process { get; set; }

        public int? ProcessId { get; set; }

        public int Probes { get; set; }

        public ConcurrentQueue<string> Output { get; } = new();
    }
}
