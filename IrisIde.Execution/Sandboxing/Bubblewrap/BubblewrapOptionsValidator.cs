using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

internal sealed class BubblewrapOptionsValidator : IValidateOptions<BubblewrapOptions>
{
    // Places the sandbox builds itself; a bind on top would silently replace them.
    private static readonly string[] ReservedTargets = ["/", "/proc", "/dev", "/tmp", "/etc", SandboxSpec.SandboxWorkspacePath];

    public ValidateOptionsResult Validate(string? name, BubblewrapOptions options)
    {
        var failures = new List<string>();
        RequireExecutable(failures, nameof(options.BwrapPath), options.BwrapPath);
        RequireExecutable(failures, nameof(options.LauncherPath), options.LauncherPath);
        RequireExecutable(failures, nameof(options.SeccompCompilerPath), options.SeccompCompilerPath);

        if (options.Uid <= 0)
        {
            failures.Add("Uid must be positive: the sandbox must never run as root.");
        }

        if (options.UidCount <= 0 || (long)options.Uid + options.UidCount > 4_000_000_000L)
        {
            failures.Add("UidCount must be positive and the range must stay below 4e9.");
        }

        if (options.StateDirectory is { Length: > 0 } state && !Path.IsPathRooted(state))
        {
            failures.Add($"StateDirectory must be an absolute path, not '{state}'.");
        }

        if (!Path.IsPathRooted(options.CgroupRoot))
        {
            failures.Add($"CgroupRoot must be an absolute path, not '{options.CgroupRoot}'.");
        }

        if (string.IsNullOrWhiteSpace(options.CgroupParent) || Path.IsPathRooted(options.CgroupParent)
            || options.CgroupParent.Split('/').Any(part => part is "" or "." or ".."))
        {
            failures.Add($"CgroupParent must be a relative path without '.' or '..' segments, not '{options.CgroupParent}'.");
        }

        if (options.TmpfsSizeBytes < 1024 * 1024)
        {
            failures.Add("TmpfsSizeBytes must be at least 1 MiB.");
        }

        if (options.WarmSandboxes is < 0 or > 64)
        {
            failures.Add("WarmSandboxes must be between 0 and 64.");
        }

        if (!(options.SweepIntervalSeconds >= 1))
        {
            failures.Add("SweepIntervalSeconds must be at least 1.");
        }

        if (string.IsNullOrWhiteSpace(options.Hostname))
        {
            failures.Add("Hostname must not be empty.");
        }

        foreach (var bind in options.ExtraReadOnlyBinds)
        {
            var target = string.IsNullOrEmpty(bind.Target) ? bind.Source : bind.Target;
            if (!Path.IsPathRooted(bind.Source) || !Path.IsPathRooted(target))
            {
                failures.Add($"ExtraReadOnlyBinds: source and target must be absolute ('{bind.Source}' → '{target}').");
            }
            else if (target.Split('/').Any(part => part is "." or ".."))
            {
                // A prepared root makes the target under its own folder on the host: '..' would leave it.
                failures.Add($"ExtraReadOnlyBinds: the target '{target}' must not have '.' or '..' segments.");
            }
            else if (ReservedTargets.Contains(target.TrimEnd('/') is { Length: > 0 } trimmed ? trimmed : "/"))
            {
                failures.Add($"ExtraReadOnlyBinds: '{target}' is managed by the sandbox and cannot be replaced.");
            }
            else if (!bind.Optional && !Path.Exists(bind.Source))
            {
                failures.Add($"ExtraReadOnlyBinds: '{bind.Source}' does not exist (mark it Optional if that is expected).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void RequireExecutable(List<string> failures, string key, string path)
    {
        if (!Path.IsPathRooted(path) || !File.Exists(path))
        {
            failures.Add($"{key} must be the absolute path of an existing executable, not '{path}'.");
        }
    }
}
