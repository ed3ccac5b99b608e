namespace IrisIde.Execution.Sandboxing.Launcher;

/// <summary>
/// Host files the launcher opens read-only, at fixed descriptor numbers, before it execs bubblewrap,
/// so bwrap reads them by descriptor (<c>--file FD</c>, <c>--seccomp FD</c>) and no host path appears
/// inside the sandbox. Every other descriptor is closed.
/// </summary>
internal sealed class LauncherFiles
{
    /// <summary>The first descriptor handed out; 0–2 are the standard streams, 3–9 are the launcher's own.</summary>
    public const int FirstDescriptor = 10;

    private readonly List<string> _paths = [];

    /// <summary>The host paths, in descriptor order.</summary>
    public IReadOnlyList<string> Paths => _paths;

    /// <summary>Registers <paramref name="hostPath"/> and returns the descriptor bwrap will find it at.</summary>
    public int OpenReadOnly(string hostPath)
    {
        _paths.Add(hostPath);
        return FirstDescriptor + _paths.Count - 1;
    }
}
