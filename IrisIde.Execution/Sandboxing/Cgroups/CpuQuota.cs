namespace IrisIde.Execution.Sandboxing.Cgroups;

internal static class CpuQuota
{
    public const long PeriodMicroseconds = 100_000;

    /// <summary>The CFS quota for <paramref name="cores"/> per period; the kernel refuses less than 1 ms.</summary>
    public static long QuotaMicroseconds(double cores) => Math.Max(1_000, (long)Math.Round(cores * PeriodMicroseconds));
}
