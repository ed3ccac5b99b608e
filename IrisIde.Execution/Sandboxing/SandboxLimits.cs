namespace IrisIde.Execution.Sandboxing;

/// <summary>Limits for one sandboxed process tree. Every value is positive: nothing means "unlimited".</summary>
public sealed record SandboxLimits
{
    /// <summary>Wall-clock time from start to forced end.</summary>
    public required TimeSpan WallTime { get; init; }

    /// <summary>CPU time of the whole tree (all threads, all children).</summary>
    public required TimeSpan CpuTime { get; init; }

    /// <summary>Memory of the whole tree (cgroup limit), bytes.</summary>
    public required long MemoryBytes { get; init; }

    /// <summary>Processes and threads of the whole tree.</summary>
    public required int MaxProcesses { get; init; }

    /// <summary>Largest file the program may write, bytes (RLIMIT_FSIZE).</summary>
    public required long MaxFileSizeBytes { get; init; }

    /// <summary>Open file descriptors (RLIMIT_NOFILE).</summary>
    public int MaxOpenFiles { get; init; } = 64;

    /// <summary>Stack size (RLIMIT_STACK), bytes.</summary>
    public long StackBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>CPU share in cores (cgroup quota); 1.0 = one full core.</summary>
    public double CpuCores { get; init; } = 1.0;

    /// <summary>Ends the run when neither input nor output happened for this long (interactive sessions).</summary>
    public TimeSpan? IdleTimeout { get; init; }
}
