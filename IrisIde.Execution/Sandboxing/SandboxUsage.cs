namespace IrisIde.Execution.Sandboxing;

/// <summary>
/// What a running program has used so far: CPU time over its whole process tree and the memory it holds now
/// (where the sandbox cannot read that, the most it was seen holding). For the admin dashboard's live view;
/// the run's result carries the exact figures once it ends.
/// </summary>
public sealed record SandboxUsage(TimeSpan CpuTime, long MemoryBytes);
