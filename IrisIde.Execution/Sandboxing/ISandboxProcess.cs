namespace IrisIde.Execution.Sandboxing;

/// <summary>
/// A running sandboxed process tree. Disposing kills the whole tree (no survivors) and releases
/// everything the sandbox created for it.
/// </summary>
public interface ISandboxProcess : IAsyncDisposable
{
    /// <summary>The program's standard input. Closing it sends end-of-file.</summary>
    Stream StandardInput { get; }

    /// <summary>Raw bytes the program writes to stdout, unbuffered on our side.</summary>
    Stream StandardOutput { get; }

    /// <summary>Raw bytes the program writes to stderr, unbuffered on our side.</summary>
    Stream StandardError { get; }

    /// <summary>Completes when the whole tree is gone, with exit status, verdict and usage.</summary>
    Task<SandboxResult> Completion { get; }

    /// <summary>
    /// Ends the whole tree now. <paramref name="verdict"/> is what the result reports when the kill
    /// is what ended the run (for example <see cref="Verdict.OutputLimit"/> or <see cref="Verdict.Killed"/>).
    /// </summary>
    void Kill(Verdict verdict, string? message = null);

    /// <summary>Delivers a signal (SIGINT, SIGTERM, ...) to the program's process group.</summary>
    void Signal(int signal);

    /// <summary>What the tree has used so far; null once it has ended or when the sandbox cannot tell now.</summary>
    SandboxUsage? ReadUsage();
}
