namespace IrisIde.Execution.Sandboxing;

/// <summary>
/// An immutable description of one sandboxed launch.
/// </summary>
/// <param name="Command">argv as seen inside the sandbox; <c>Command[0]</c> is resolved with the sandbox PATH.</param>
/// <param name="WorkspacePath">Host folder that becomes the working directory and the only writable place.</param>
/// <param name="Limits">Resource limits, already clamped by the caller.</param>
/// <param name="Environment">Extra variables on top of the sandbox's allow-listed environment.</param>
/// <param name="ToolchainPaths">
/// Host paths the command needs (the language's toolchain from the catalogue), shown read-only on
/// top of the sandbox's small base set; nothing else of the host's <c>/usr</c> is. Null: every
/// catalogue language's toolchain (for callers that run no particular language). Sandboxes without
/// a file-system view of their own ignore it.
/// </param>
public sealed record SandboxSpec(
    IReadOnlyList<string> Command,
    string WorkspacePath,
    SandboxLimits Limits,
    IReadOnlyDictionary<string, string>? Environment = null,
    IReadOnlyList<string>? ToolchainPaths = null)
{
    /// <summary>Where the workspace appears inside the sandbox.</summary>
    public const string SandboxWorkspacePath = "/workspace";

    /// <summary>The checks every sandbox makes before it starts anything.</summary>
    internal static void ThrowIfInvalid(SandboxSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Command.Count == 0 || string.IsNullOrEmpty(spec.Command[0]))
        {
            throw new ArgumentException("The command must name a program.", nameof(spec));
        }
    }
}
