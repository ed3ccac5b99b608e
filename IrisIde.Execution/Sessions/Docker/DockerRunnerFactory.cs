using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Docker.DotNet.Models;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// Makes runner containers: fresh, started, answering on their socket, with the labels the reaper reads,
/// and removes them (container and socket folder). Every container is made the same way, so one in the
/// pool and one made for a waiting session differ only in when they were made.
/// </summary>
internal sealed class DockerRunnerFactory(DockerEngine engine, IOptions<DockerRunnerOptions> options, DockerReplica replica, ILogger<DockerRunnerFactory> logger)
    : IRunnerFactory<DockerRunner>
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private readonly DockerRunnerOptions _options = options.Value;

    private volatile bool _networkChecked;
    private volatile bool _ownContainerChecked;
    private string? _ownContainer;

    /// <summary>The host folder that holds one sub-folder per runner.</summary>
    public string SocketRoot { get; } = options.Value.ResolveSocketDirectory();

    /// <summary>
    /// Creates and starts a runner, then waits until it answers <c>/healthz</c> on its socket (at most
    /// <c>ReadyTimeoutSeconds</c>). <paramref name="owner"/> goes on its labels
    /// when known (a runner made for a waiting session); a pool runner's is empty.
    /// </summary>
    /// <exception cref="DockerUnavailableException">The engine failed, or the runner did not get ready.</exception>
    public async Task<DockerRunner> StartAsync(string? owner, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var runnerId = Guid.NewGuid().ToString("N")[..16];
        // Only the web app and the runner know it: another runner on the same network cannot use this one.
        var accessToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var network = _options.Network is { Length: > 0 } name ? name : null;
        string? folder = null;
        string? containerId = null;
        try
        {
            if (network is null)
            {
                folder = CreateSocketFolder(runnerId);
            }
            else
            {
                await EnsureNetworkAsync(network, cancellationToken);
            }

            var ownContainer = await OwnContainerOnEngineAsync(cancellationToken);

            var created = await engine.CallAsync(
                "create runner container",
                (client, token) => client.Containers.CreateContainerAsync(Parameters(runnerId, folder, network, accessToken, RunnerLabels(runnerId, owner, expiresAt, ownContainer)), token),
                // Not cancelled: a create abandoned in flight is still carried out by the engine, after a removal by name
                // has found nothing (a web app stopping while its pool filled left such runners). Bounded by the engine's
                // request timeout; with the id known, the removal below cannot miss it.
                CancellationToken.None,
                _options.Image);
            containerId = created.ID;
            await engine.CallAsync("start runner container", (client, token) => client.Containers.StartContainerAsync(containerId, new ContainerStartParameters(), token), cancellationToken);
            var runner = folder is not null
                ? DockerRunner.OnSocket(containerId, runnerId, folder, accessToken, DateTimeOffset.UtcNow)
                : DockerRunner.OnNetwork(containerId, runnerId, await AddressOnAsync(containerId, network!, cancellationToken), accessToken, DateTimeOffset.UtcNow);
            var stopwatch = Stopwatch.StartNew();
            await WaitReadyAsync(runner, cancellationToken);
            DockerSessionLog.RunnerReady(logger, runnerId, containerId[..12], stopwatch.ElapsedMilliseconds);
            return runner;
        }
        catch
        {
            // A create cancelled in flight may still have made the container: then only its name is known.
            await RemoveAsync(containerId ?? ContainerName(runnerId), folder);
            throw;
        }
    }

    /// <summary>Removes the runner's container and its socket folder; never throws (the reaper retries what is left).</summary>
    public Task RemoveAsync(DockerRunner runner)
    {
        ArgumentNullException.ThrowIfNull(runner);
        runner.Dispose();
        return RemoveAsync(runner.ContainerId, runner.SocketFolder);
    }

    /// <summary>Removes a container by id (and, when given, its socket folder); failures are logged, not thrown.</summary>
    public async Task RemoveAsync(string? containerId, string? folder)
    {
        if (containerId is not null)
        {
            try
            {
                await engine.RemoveContainerAsync(containerId, CancellationToken.None);
            }
            catch (DockerUnavailableException e)
            {
                DockerSessionLog.RemoveFailed(logger, containerId, e.Message);
            }
        }

        if (folder is not null)
        {
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                DockerSessionLog.RemoveFailed(logger, folder, e.Message);
            }
        }
    }

    private static string ContainerName(string runnerId) => $"iris-runner-{runnerId}";

    /// <summary>The socket folder of a runner, by its id (for the reaper, which knows runners by their labels).</summary>
    public string SocketFolderOf(string runnerId) => Path.Combine(SocketRoot, runnerId);

    /// <summary>
    /// The container this web app runs in, when the engine it starts runners on has it (a web app in a container on
    /// another host names a container this engine cannot judge): asked once.
    /// </summary>
    private async Task<string?> OwnContainerOnEngineAsync(CancellationToken cancellationToken)
    {
        if (_ownContainerChecked || replica.ContainerId is not { } id)
        {
            return _ownContainer;
        }

        try
        {
            await engine.CallAsync("inspect the web app's own container", (client, token) => client.Containers.InspectContainerAsync(id, token), cancellationToken);
            _ownContainer = id;
        }
        catch (DockerUnavailableException e) when (e.Kind is DockerFailure.NotFound)
        {
            _ownContainer = null;
        }

        _ownContainerChecked = true;
        return _ownContainer;
    }

    private Dictionary<string, string> RunnerLabels(string runnerId, string? owner, DateTimeOffset expiresAt, string? ownContainer)
    {
        var labels = new Dictionary<string, string>
        {
            [DockerLabels.App] = DockerLabels.RunnerApp,
            [DockerLabels.Runner] = runnerId,
            [DockerLabels.Replica] = replica.Id,
            [DockerLabels.Owner] = owner ?? string.Empty,
            [DockerLabels.Expires] = expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
        };
        if (ownContainer is not null)
        {
            labels[DockerLabels.ReplicaContainer] = ownContainer;
        }

        return labels;
    }

    private CreateContainerParameters Parameters(string runnerId, string? folder, string? network, string accessToken, Dictionary<string, string> labels) => new()
    {
        Name = ContainerName(runnerId),
        Image = _options.Image,
        Cmd = ["runner"],
        User = _options.User,
        Env =
        [
            // The operator's runner settings first: Docker keeps the last of a repeated name, so the session host's own
            // (validated not to collide anyway) would win.
            .. _options.RunnerSettings.Select(setting => $"{setting.Key}={setting.Value}"),
            folder is not null
                ? $"ASPNETCORE_URLS=http://unix:{DockerRunner.ContainerSocketFolder}/{DockerRunner.SocketName}"
                : $"ASPNETCORE_URLS=http://0.0.0.0:{DockerRunner.NetworkPort.ToString(CultureInfo.InvariantCulture)}",
            $"Iris__Runner__AccessToken={accessToken}",
            // Inside the container the container is the boundary: a process sandbox with rlimits, as in a runner pod.
            "Iris__Sandbox__Kind=Process",
            // One session per container: its run may have all of the container's memory and pids. The default
            // capacity (the host less a reserve of at least 512 MiB and 1024 pids) would leave nothing here.
            $"Iris__Sandbox__Capacity__MemoryBytes={_options.MemoryBytes.ToString(CultureInfo.InvariantCulture)}",
            // The workspaces go to the one writable, executable place: the container's /tmp (its memory counts).
            "Iris__Limits__WorkspaceRoot=/tmp/iris-runs",
            $"Iris__Sandbox__Capacity__MaxProcesses={_options.PidsLimit.ToString(CultureInfo.InvariantCulture)}",
        ],
        Labels = labels,
        NetworkDisabled = network is null,
        HostConfig = new HostConfig
        {
            NetworkMode = network ?? "none",
            Runtime = engine.Options.Runtime,
            ReadonlyRootfs = true,
            Tmpfs = new Dictionary<string, string>
            {
                // exec: compiled programs run from here (Docker's tmpfs default is noexec, as is its /dev/shm).
                ["/tmp"] = $"rw,exec,nosuid,nodev,size={_options.TmpfsBytes.ToString(CultureInfo.InvariantCulture)}",
            },
            Binds = folder is null ? [] : [$"{folder}:{DockerRunner.ContainerSocketFolder}:rw"],
            Memory = _options.MemoryBytes,
            MemorySwap = _options.MemoryBytes,
            NanoCPUs = (long)(_options.CpuCores * 1_000_000_000),
            PidsLimit = _options.PidsLimit,
            CapDrop = ["ALL"],
            SecurityOpt = ["no-new-privileges"],
            OomScoreAdj = 1000,
            Init = true,
            RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.No },
            LogConfig = new LogConfig { Type = "json-file", Config = new Dictionary<string, string> { ["max-size"] = "1m", ["max-file"] = "1" } },
        },
    };

    /// <summary>
    /// Checks once that the configured network exists and is internal (no route out of the host): a runner there
    /// runs students' programs and must reach nothing but the web app.
    /// </summary>
    private async Task EnsureNetworkAsync(string network, CancellationToken cancellationToken)
    {
        if (_networkChecked)
        {
            return;
        }

        NetworkResponse found;
        try
        {
            found = await engine.CallAsync("inspect runner network", (client, token) => client.Networks.InspectNetworkAsync(network, token), cancellationToken);
        }
        catch (DockerUnavailableException e) when (e.Kind is DockerFailure.NotFound)
        {
            throw new DockerUnavailableException(DockerFailure.NotFound, $"Docker: the runners' network '{network}' (Iris:Sessions:Docker:Network) does not exist; create it with 'docker network create --internal {network}'", e);
        }

        if (!found.Internal)
        {
            throw new DockerUnavailableException(DockerFailure.Refused, $"Docker: the runners' network '{network}' (Iris:Sessions:Docker:Network) is not internal: runners could reach out of the host. Use a network made with --internal");
        }

        _networkChecked = true;
    }

    /// <summary>The runner's address on its network, as the engine assigned it at start.</summary>
    private async Task<string> AddressOnAsync(string containerId, string network, CancellationToken cancellationToken)
    {
        var inspected = await engine.CallAsync("inspect runner container", (client, token) => client.Containers.InspectContainerAsync(containerId, token), cancellationToken);
        if (inspected.NetworkSettings?.Networks is { } networks
            && (networks.TryGetValue(network, out var endpoint) || networks.Values.Count == 1 && (endpoint = networks.Values.First()) is not null)
            && endpoint.IPAddress is { Length: > 0 } address)
        {
            return address;
        }

        throw new DockerUnavailableException(DockerFailure.RunnerFailed, $"Docker: the runner container got no address on the network '{network}'");
    }

    private string CreateSocketFolder(string runnerId)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("Docker runners are reached through unix sockets: Linux only.");
        }

        // The root is the web app's alone; each runner's folder is open to the runner's uid, which makes its
        // socket there, and is mounted into that runner only, so no runner can reach another one's socket.
        Directory.CreateDirectory(SocketRoot);
        File.SetUnixFileMode(SocketRoot, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var folder = SocketFolderOf(runnerId);
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, (UnixFileMode)0b111_111_111);
        return folder;
    }

    private async Task WaitReadyAsync(DockerRunner runner, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(_options.ReadyTimeoutSeconds));
        var lastCheck = Stopwatch.StartNew();
        string? lastError = null;
        try
        {
            while (true)
            {
                if (runner.SocketPath is not { } socket || File.Exists(socket))
                {
                    try
                    {
                        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(runner.BaseAddress, "healthz"));
                        using var response = await runner.Invoker.SendAsync(request, deadline.Token);
                        if (response.IsSuccessStatusCode)
                        {
                            return;
                        }

                        lastError = $"/healthz answered {(int)response.StatusCode}";
                    }
                    catch (HttpRequestException e)
                    {
                        lastError = e.Message;
                    }
                }

                // Not every poll: a container that died will not get ready, and says why in its state and log.
                if (lastCheck.Elapsed > TimeSpan.FromSeconds(1))
                {
                    lastCheck.Restart();
                    var state = await engine.CallAsync("inspect runner container", (client, token) => client.Containers.InspectContainerAsync(runner.ContainerId, token), deadline.Token);
                    if (state.State is { Running: false } stopped)
                    {
                        var log = await engine.LogTailAsync(runner.ContainerId, lines: 20, maxChars: 2000, cancellationToken);
                        throw new DockerUnavailableException(
                            DockerFailure.RunnerFailed,
                            $"Docker: the runner container stopped before it was ready (exit {stopped.ExitCode}{(stopped.OOMKilled ? ", out of memory" : string.Empty)}{(string.IsNullOrEmpty(stopped.Error) ? string.Empty : ", " + stopped.Error)}){(log.Length == 0 ? string.Empty : "; its last output: " + log)}");
                    }
                }

                await Task.Delay(PollInterval, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new DockerUnavailableException(
                DockerFailure.RunnerFailed,
                $"Docker: the runner did not get ready within {_options.ReadyTimeoutSeconds:0.###} s (Iris:Sessions:Docker:ReadyTimeoutSeconds){(lastError is null ? string.Empty : ": " + lastError)}");
        }
    }
}

/// <summary>The labels on every runner container; the reaper finds runners by them.</summary>
internal static class DockerLabels
{
    /// <summary>The container the owning web app runs in, when it runs in one (<see cref="DockerReplica.ContainerId"/>).</summary>
    public const string ReplicaContainer = "iris.replica-container";

    public const string App = "iris.app";

    public const string RunnerApp = "iris-runner";

    public const string Runner = "iris.runner";

    public const string Replica = "iris.replica";

    public const string Owner = "iris.owner";

    public const string Expires = "iris.expires";
}
