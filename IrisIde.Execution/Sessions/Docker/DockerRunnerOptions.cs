using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// Runner containers of the Docker session host (<c>Iris:Sessions:Docker</c>): one fresh container per
/// session from <see cref="Image"/>, limited as the seed's runner pods, with no network: the web app reaches
/// its <c>/ws</c> through a unix socket in a folder of its own that only that container sees. A runtime that
/// cannot share a socket with the host (Kata: the container is a VM) needs <see cref="Network"/> instead.
/// </summary>
public sealed class DockerRunnerOptions : Runners.RunnerBackendOptions
{
    public const string SectionName = "Iris:Sessions:Docker";

    /// <summary>The runner image (<c>IrisIde.Worker runner</c> and the toolchains); <c>./iris images</c> builds <c>iris-runner:local</c>.</summary>
    public string Image { get; set; } = "iris-runner:local";

    /// <summary>CPU of one runner, in cores (the seed's pods: 0.5).</summary>
    public double CpuCores { get; set; } = 0.5;

    /// <summary>Memory of one runner, program and runner together, without swap (the seed's pods: 512 MiB).</summary>
    public long MemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>Processes and threads of one runner. gVisor counts its own threads too: give <c>runsc</c> more.</summary>
    public long PidsLimit { get; set; } = 512;

    /// <summary>Size of the runner's writable <c>/tmp</c> (a tmpfs: the root filesystem is read-only).</summary>
    public long TmpfsBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The user the runner runs as (never root).</summary>
    public string User { get; set; } = "10001:10001";

    /// <summary>
    /// An internal Docker network (<c>docker network create --internal</c>) the runners join, reached on their address
    /// there with a per-runner access token. Empty (the default): no network at all, a unix socket. Set it for a
    /// runtime whose containers are VMs (<c>kata-runtime</c>), which cannot share a socket with the host; the web
    /// app must be on that network too.
    /// </summary>
    public string? Network { get; set; }

    /// <summary>
    /// Host folder for the runners' sockets (one sub-folder per runner, bind-mounted into that runner only). Empty:
    /// <c>/run/iris/runners</c> as root, else a folder under the temp path. Behind Docker-in-Docker (the web app
    /// in a container) it must be the same path on the host and in the web app's container.
    /// </summary>
    public string? SocketDirectory { get; set; }

    /// <summary>
    /// Configuration for the runners themselves, as environment variable names (<c>Iris__Limits__Interactive__CpuSeconds</c>:
    /// <c>3</c>): the limits and settings of the sandbox a student's program runs in inside each runner, which would
    /// otherwise be the image's defaults. Only <c>Iris__</c> names; not those the session host sets itself
    /// (<see cref="ReservedRunnerSettings"/>).
    /// </summary>
    public Dictionary<string, string> RunnerSettings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>What each runner's environment gets from the session host itself, which <see cref="RunnerSettings"/> may not change.</summary>
    public static readonly IReadOnlyList<string> ReservedRunnerSettings =
    [
        "Iris__Runner__AccessToken", "Iris__Sandbox__Kind", "Iris__Sandbox__Capacity__MemoryBytes",
        "Iris__Sandbox__Capacity__MaxProcesses", "Iris__Limits__WorkspaceRoot",
    ];

    public string ResolveSocketDirectory() =>
        SocketDirectory is { Length: > 0 } configured ? Path.GetFullPath(configured)
        : Environment.IsPrivilegedProcess ? "/run/iris/runners"
        : Path.Combine(Path.GetTempPath(), $"iris-runners-{Environment.UserName}");
}

internal sealed class DockerRunnerOptionsValidator : IValidateOptions<DockerRunnerOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerRunnerOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Image))
        {
            problems.Add("Iris:Sessions:Docker:Image must name the runner image");
        }

        if (!(options.CpuCores is > 0 and <= 64))
        {
            problems.Add("Iris:Sessions:Docker:CpuCores must be between 0 and 64");
        }

        if (options.MemoryBytes < 64L * 1024 * 1024)
        {
            problems.Add("Iris:Sessions:Docker:MemoryBytes must be at least 64 MiB (the runner itself needs about 60)");
        }

        if (options.PidsLimit < 32)
        {
            problems.Add("Iris:Sessions:Docker:PidsLimit must be at least 32");
        }

        if (options.TmpfsBytes < 1024 * 1024)
        {
            problems.Add("Iris:Sessions:Docker:TmpfsBytes must be at least 1 MiB");
        }

        if (string.IsNullOrWhiteSpace(options.User) || options.User.Split(':')[0] is "0" or "root")
        {
            problems.Add("Iris:Sessions:Docker:User must be a non-root user (uid:gid)");
        }

        if (options.Network is { Length: > 0 } network
            && (network is "host" or "bridge" or "none" || network.StartsWith("container:", StringComparison.Ordinal) || network.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))))
        {
            problems.Add("Iris:Sessions:Docker:Network must name a user-defined internal network (not host, bridge, none or container:...), or be empty for no network");
        }

        foreach (var (variable, value) in options.RunnerSettings)
        {
            if (!variable.StartsWith("Iris__", StringComparison.Ordinal) || variable.Length == "Iris__".Length
                || variable.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')))
            {
                problems.Add($"Iris:Sessions:Docker:RunnerSettings: '{variable}' is not a runner setting (Iris__Section__Key, letters, digits and '_')");
            }
            else if (DockerRunnerOptions.ReservedRunnerSettings.Contains(variable, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"Iris:Sessions:Docker:RunnerSettings: '{variable}' is set by the session host itself");
            }
            else if (value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                problems.Add($"Iris:Sessions:Docker:RunnerSettings: '{variable}' needs a value without NUL characters");
            }
        }

        options.ValidateShared(DockerRunnerOptions.SectionName, problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
