using System.Diagnostics;
using System.Globalization;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Workspaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// Runs the program as a plain process under a supervisor of its own (<c>iris-launch supervise</c>, which ends
/// everything the program started when it ends): rlimits, an unprivileged uid when the host is root, its own session
/// and process group. Only for inside a runner pod or container, where that is the isolation boundary — there is no
/// filesystem, network or pid isolation here.
/// </summary>
/// <remarks>
/// RLIMIT_NPROC counts every task of the program's real uid. As root the program runs as a uid of its own, so the
/// limit is the run's process limit; otherwise (a non-root runner) the program shares the runner's uid, and the limit
/// is what that uid runs now plus the run's process limit, so a fork loop stops there and not at the container's
/// pids limit, where the runner itself could no longer start a thread.
/// </remarks>
public sealed class ProcessSandbox : ISandbox
{
    private readonly ProcessSandboxOptions _options;
    private readonly ILogger _logger;
    private readonly bool _isRoot = Environment.IsPrivilegedProcess;
    private readonly uint _uid = Interop.GetRealUid();

    public ProcessSandbox(IOptions<ProcessSandboxOptions> options, ILogger<ProcessSandbox> logger)
    {
        _options = options.Value;
        _logger = logger;
        ProcessSandboxLog.NotIsolated(logger);
    }

    public string Name => "process";

    public async Task<ISandboxProcess> StartAsync(SandboxSpec spec, CancellationToken cancellationToken)
    {
        SandboxSpec.ThrowIfInvalid(spec);

        var workspace = Path.GetFullPath(spec.WorkspacePath);
        if (_isRoot)
        {
            WorkspaceTree.ChangeOwner(workspace, (uint)_options.Uid, (uint)_options.Gid);
        }

        var startInfo = new ProcessStartInfo(_options.LauncherPath)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workspace,
        };
        startInfo.Environment.Clear();
        foreach (var (name, value) in BubblewrapSandbox.BuildEnvironment(spec))
        {
            startInfo.Environment[name] = value;
        }

        startInfo.Environment["HOME"] = workspace;
        foreach (var argument in BuildArguments(spec))
        {
            startInfo.ArgumentList.Add(argument);
        }

        var runId = Guid.NewGuid().ToString("N")[..12];
        var stopwatch = Stopwatch.StartNew();
        var process = await ProcessLauncher.StartAsync(startInfo, cancellationToken);
        ProcessSandboxLog.RunStarted(_logger, runId, spec.Command[0], process.Id);
        return new ProcessSandboxProcess(runId, process, spec.Limits, stopwatch, _logger);
    }

    /// <summary>
    /// iris-launch supervise (which forks the rest into a session and process group of its own) → prlimit → choom
    /// (oom_score_adj 1000, inherited by everything the program starts: under memory pressure the kernel kills the
    /// program, not the runner) → setpriv → program; each execs the next, so the program keeps the supervisor's child's pid.
    /// </summary>
    private IEnumerable<string> BuildArguments(SandboxSpec spec)
    {
        var limits = spec.Limits;
        yield return "supervise";
        yield return "--";
        yield return _options.PrlimitPath;
        // The sampler ends a run over its CPU limit; RLIMIT_CPU is the backstop for what it cannot see in time (a
        // sandbox whose /proc lags, a loaded runner). Soft below hard: the kernel sends SIGXCPU (a time-limit verdict)
        // at the soft limit, where with both equal it sends only SIGKILL, which reads as any other kill.
        var cpuSeconds = (long)Math.Ceiling(limits.CpuTime.TotalSeconds) + 1;
        yield return string.Create(CultureInfo.InvariantCulture, $"--cpu={cpuSeconds}:{cpuSeconds + 1}");
        yield return "--fsize=" + limits.MaxFileSizeBytes.ToString(CultureInfo.InvariantCulture);
        yield return "--nofile=" + limits.MaxOpenFiles.ToString(CultureInfo.InvariantCulture);
        yield return "--core=0";
        yield return "--stack=" + limits.StackBytes.ToString(CultureInfo.InvariantCulture);
        // Per-uid process cap: the only fork-bomb guard without a cgroup.
        var processes = _isRoot ? limits.MaxProcesses : ProcessTree.CountThreadsOfUid(_uid) + limits.MaxProcesses;
        yield return "--nproc=" + processes.ToString(CultureInfo.InvariantCulture);

        yield return "--";
        yield return _options.ChoomPath;
        yield return "-n";
        yield return "1000";
        yield return "--";
        yield return _options.SetprivPath;
        if (_isRoot)
        {
            yield return "--reuid=" + _options.Uid.ToString(CultureInfo.InvariantCulture);
            yield return "--regid=" + _options.Gid.ToString(CultureInfo.InvariantCulture);
            yield return "--clear-groups";
        }

        yield return "--no-new-privs";
        yield return "--pdeathsig=KILL";
        yield return "--";
        foreach (var argument in spec.Command)
        {
            yield return argument;
        }
    }
}
