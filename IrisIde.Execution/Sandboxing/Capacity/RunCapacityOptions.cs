namespace IrisIde.Execution.Sandboxing.Capacity;

/// <summary>
/// How much of the host all runs together may use, bound from <c>Iris:Sandbox:Capacity</c>. Each
/// value left unset is derived from the host (see <see cref="RunCapacity"/>), so a server needs no
/// configuration to protect itself.
/// </summary>
public sealed class RunCapacityOptions
{
    public const string SectionName = "Iris:Sandbox:Capacity";

    /// <summary>Memory of all runs together, bytes. Unset: the host's memory minus <see cref="MemoryReserveBytes"/>.</summary>
    public long? MemoryBytes { get; set; }

    /// <summary>Memory kept for the server and the system, bytes. Unset: the larger of 512 MiB and 10 % of the host's memory.</summary>
    public long? MemoryReserveBytes { get; set; }

    /// <summary>Processes and threads of all runs together. Unset: the host's pid space minus <see cref="ProcessReserve"/>.</summary>
    public int? MaxProcesses { get; set; }

    /// <summary>Pids kept for the server and the system. Unset: the larger of 1,024 and 10 % of the host's pid space.</summary>
    public int? ProcessReserve { get; set; }
}
