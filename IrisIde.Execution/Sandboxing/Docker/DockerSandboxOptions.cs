using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Docker;

/// <summary>
/// <c>Iris:Sandbox:Kind=Docker</c> (<c>Iris:Sandbox:Docker</c>): every step of a run (compile, run) in a fresh
/// container of <see cref="Image"/> on the engine of <c>Iris:Docker</c>, with the step's limits, no network and a
/// read-only root; the run's workspace is the only writable place besides a small <c>/tmp</c>.
/// </summary>
public sealed class DockerSandboxOptions
{
    public const string SectionName = "Iris:Sandbox:Docker";

    /// <summary>The image with the toolchains; the runner image (<c>./iris images</c>) has them all.</summary>
    public string Image { get; set; } = "iris-runner:local";

    /// <summary>The user a step runs as (never root); the workspace is given to it before the step.</summary>
    public string User { get; set; } = "10001:10001";

    /// <summary>Size of a step's <c>/tmp</c> (a tmpfs; its pages count against the step's memory).</summary>
    public long TmpfsBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Added to a step's process limit under gVisor (<c>Iris:Docker:Runtime=runsc</c>), whose own threads count
    /// against the container's pids limit: without it a small limit crashes the sandbox, not the program.
    /// </summary>
    public int GVisorExtraProcesses { get; set; } = 128;

    /// <summary>Host folder for each step's status file (one sub-folder per step, mounted into that step only).</summary>
    public string StatusDirectory { get; set; } = Path.Combine(Path.GetTempPath(), "iris-docker-steps");

    internal (uint Uid, uint Gid) ParseUser()
    {
        var parts = User.Split(':');
        return (uint.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture),
            uint.Parse(parts.Length > 1 ? parts[1] : parts[0], System.Globalization.CultureInfo.InvariantCulture));
    }
}

internal sealed class DockerSandboxOptionsValidator : IValidateOptions<DockerSandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerSandboxOptions options)
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Image))
        {
            problems.Add($"{DockerSandboxOptions.SectionName}:Image must name an image.");
        }

        var user = options.User.Split(':');
        if (user.Length is < 1 or > 2 || user.Any(part => !uint.TryParse(part, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) || id == 0))
        {
            problems.Add($"{DockerSandboxOptions.SectionName}:User must be a numeric uid[:gid] other than root, not '{options.User}'.");
        }

        if (options.TmpfsBytes < 1024 * 1024)
        {
            problems.Add($"{DockerSandboxOptions.SectionName}:TmpfsBytes must be at least 1 MiB.");
        }

        if (options.GVisorExtraProcesses is < 0 or > 100_000)
        {
            problems.Add($"{DockerSandboxOptions.SectionName}:GVisorExtraProcesses must be between 0 and 100000.");
        }

        if (!Path.IsPathFullyQualified(options.StatusDirectory))
        {
            problems.Add($"{DockerSandboxOptions.SectionName}:StatusDirectory must be an absolute path.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
