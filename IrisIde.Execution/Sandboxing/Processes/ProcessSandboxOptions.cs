namespace IrisIde.Execution.Sandboxing.Processes;

/// <summary>
/// Settings of the bare-process sandbox (section <c>Iris:Sandbox</c>). Only for inside a runner pod,
/// where the pod is the isolation boundary; never the default elsewhere.
/// </summary>
public sealed class ProcessSandboxOptions
{
    public const string SectionName = "Iris:Sandbox";

    /// <summary>uid the program runs as when the host process is root.</summary>
    public int Uid { get; set; } = 61000;

    public int Gid { get; set; } = 61000;

    /// <summary>The native launcher, whose <c>supervise</c> mode is the parent of every run.</summary>
    public string LauncherPath { get; set; } = Path.Combine(AppContext.BaseDirectory, "iris-launch");

    public string SetprivPath { get; set; } = "/usr/bin/setpriv";

    public string PrlimitPath { get; set; } = "/usr/bin/prlimit";

    /// <summary>util-linux choom: gives the program oom_score_adj 1000, so the kernel kills it before the runner.</summary>
    public string ChoomPath { get; set; } = "/usr/bin/choom";
}

internal sealed class ProcessSandboxOptionsValidator : Microsoft.Extensions.Options.IValidateOptions<ProcessSandboxOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, ProcessSandboxOptions options)
    {
        var failures = new List<string>();
        foreach (var (key, path) in new[] { ("LauncherPath", options.LauncherPath), ("SetprivPath", options.SetprivPath), ("PrlimitPath", options.PrlimitPath), ("ChoomPath", options.ChoomPath) })
        {
            if (!Path.IsPathRooted(path) || !File.Exists(path))
            {
                failures.Add($"{key} must be the absolute path of an existing executable, not '{path}'.");
            }
        }

        if (options.Uid <= 0 || options.Gid <= 0)
        {
            failures.Add("Uid and Gid must be positive: programs must never run as root.");
        }

        return failures.Count == 0
            ? Microsoft.Extensions.Options.ValidateOptionsResult.Success
            : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
