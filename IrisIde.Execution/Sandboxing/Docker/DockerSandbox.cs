using System.Diagnostics;
using System.Globalization;
using Docker.DotNet.Models;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sessions.Docker;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Docker;

/// <summary>
/// <c>Iris:Sandbox:Kind=Docker</c>: each step in a fresh container on the configured engine and runtime (runc,
/// gVisor's runsc, Kata), removed when the step ends. The step's limits become the container's (memory without
/// swap, CPU share, pids) and its rlimits (CPU seconds, file size, open files, stack); no network, a read-only
/// root, every capability dropped, no new privileges, the workspace bind-mounted at <c>/workspace</c>.
/// </summary>
/// <remarks>
/// The program runs under <c>/bin/sh</c>, which writes its exit status to a folder mounted for this step only: a
/// step that ends without that status (the sandbox itself died, as gVisor does when its own threads hit the pids
/// limit) is an <see cref="Verdict.InternalError"/>, never the program's exit code.
/// </remarks>
public sealed class DockerSandbox : ISandbox
{
    internal const string StatusMount = "/run/iris-step";

    // "$@" is the program's argv; the shell keeps the status of the program, not its own.
    private const string StatusScript = "\"$@\"; echo $? > " + StatusMount + "/status";

    private readonly DockerEngine _engine;
    private readonly DockerSandboxOptions _options;
    private readonly ILogger _logger;

    public DockerSandbox(DockerEngine engine, IOptions<DockerSandboxOptions> options, ILogger<DockerSandbox> logger)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(options);
        _engine = engine;
        _options = options.Value;
        _logger = logger;
    }

    public string Name => "docker";

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        SandboxSpec.ThrowIfInvalid(spec);
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The Docker sandbox runs on Linux only.");
        }

        var workspace = Path.GetFullPath(spec.WorkspacePath);
        var (uid, gid) = _options.ParseUser();
        if (Environment.IsPrivilegedProcess)
        {
            WorkspaceTree.ChangeOwner(workspace, uid, gid);
        }

        var stepId = Guid.NewGuid().ToString("N")[..16];
        var statusFolder = Path.Combine(_options.StatusDirectory, stepId);
        // The root is the server's alone (no other host user may list the steps or plant a status in one); each
        // step's folder is open to the step's user and mounted into that step only.
        Directory.CreateDirectory(_options.StatusDirectory);
        File.SetUnixFileMode(_options.StatusDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Directory.CreateDirectory(statusFolder);
        File.SetUnixFileMode(statusFolder, (UnixFileMode)0b111_111_111);

        string? containerId = null;
        try
        {
            var created = await _engine.CallAsync(
                "create sandbox container",
                (client, token) => client.Containers.CreateContainerAsync(Parameters(spec, workspace, stepId, statusFolder), token),
                cancellationToken,
                _options.Image);
            containerId = created.ID;
            var id = containerId;
            var attached = await _engine.CallAsync(
                "attach to sandbox container",
                (client, token) => client.Containers.AttachContainerAsync(id, new ContainerAttachParameters { Stream = true, Stdin = true, Stdout = true, Stderr = true }, token),
                cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            try
            {
                await _engine.CallAsync("start sandbox container", (client, token) => client.Containers.StartContainerAsync(id, new ContainerStartParameters(), token), cancellationToken);
            }
            catch
            {
                attached.Dispose();
                throw;
            }

            DockerSandboxLog.StepStarted(_logger, stepId, spec.Command[0], id[..12], _engine.Options.Runtime);
            return new DockerSandboxProcess(_engine, stepId, id, attached, statusFolder, spec.Limits, stopwatch, _logger);
        }
        catch
        {
            await _engine.RemoveContainerAsync(containerId ?? ContainerName(stepId), CancellationToken.None);
            DockerSandboxProcess.DeleteFolder(statusFolder);
            throw;
        }
    }

    private static string ContainerName(string stepId) => $"iris-step-{stepId}";

    private CreateContainerParameters Parameters(SandboxSpec spec, string workspace, string stepId, string statusFolder)
    {
        var limits = spec.Limits;
        var gVisor = string.Equals(_engine.Options.Runtime, "runsc", StringComparison.Ordinal);
        var cpuSeconds = (long)Math.Ceiling(limits.CpuTime.TotalSeconds) + 1;
        return new CreateContainerParameters
        {
            Name = ContainerName(stepId),
            Image = _options.Image,
            Entrypoint = ["/bin/sh", "-c", StatusScript, "iris-step"],
            Cmd = [.. spec.Command],
            User = _options.User,
            WorkingDir = SandboxSpec.SandboxWorkspacePath,
            Env = [.. BubblewrapSandbox.BuildEnvironment(spec).Select(pair => $"{pair.Key}={pair.Value}")],
            Labels = new Dictionary<string, string> { ["iris.app"] = "iris-step", ["iris.step"] = stepId },
            AttachStdin = true,
            AttachStdout = true,
            AttachStderr = true,
            OpenStdin = true,
            StdinOnce = true,
            Tty = false,
            NetworkDisabled = true,
            HostConfig = new HostConfig
            {
                NetworkMode = "none",
                Runtime = _engine.Options.Runtime,
                ReadonlyRootfs = true,
                Binds = [$"{workspace}:{SandboxSpec.SandboxWorkspacePath}:rw", $"{statusFolder}:{StatusMount}:rw"],
                Tmpfs = new Dictionary<string, string>
                {
                    ["/tmp"] = $"rw,exec,nosuid,nodev,size={_options.TmpfsBytes.ToString(CultureInfo.InvariantCulture)}",
                },
                Memory = limits.MemoryBytes,
                MemorySwap = limits.MemoryBytes,
                NanoCPUs = (long)(limits.CpuCores * 1_000_000_000),
                // The shell and the init process are two of them; gVisor's own threads count too.
                PidsLimit = limits.MaxProcesses + 2 + (gVisor ? _options.GVisorExtraProcesses : 0),
                Ulimits =
                [
                    new Ulimit { Name = "cpu", Soft = cpuSeconds, Hard = cpuSeconds + 1 },
                    new Ulimit { Name = "fsize", Soft = limits.MaxFileSizeBytes, Hard = limits.MaxFileSizeBytes },
                    new Ulimit { Name = "nofile", Soft = limits.MaxOpenFiles, Hard = limits.MaxOpenFiles },
                    new Ulimit { Name = "stack", Soft = limits.StackBytes, Hard = limits.StackBytes },
                    new Ulimit { Name = "core", Soft = 0, Hard = 0 },
                ],
                CapDrop = ["ALL"],
                SecurityOpt = ["no-new-privileges"],
                OomScoreAdj = 1000,
                Init = true,
                AutoRemove = false,
                LogConfig = new LogConfig { Type = "none" },
            },
        };
    }
}
