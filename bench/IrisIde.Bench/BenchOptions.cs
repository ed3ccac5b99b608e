using System.Globalization;

namespace IrisIde.Bench;

internal sealed record BenchOptions(int Runs, int Parallel, int ThroughputRuns, int Sessions, bool MemoryOnly, int BatchJobs, bool BatchOnly, bool InteractiveOnly)
{
    public static BenchOptions Parse(string[] args)
    {
        var runs = 30;
        var parallel = Environment.ProcessorCount;
        var throughputRuns = 60;
        var sessions = 100;
        var memoryOnly = false;
        var batchJobs = 200;
        var batchOnly = false;
        var interactiveOnly = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--runs":
                    runs = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--parallel":
                    parallel = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--throughput-runs":
                    throughputRuns = int.Parse(args[++i], CultureInfo.InvariantCulture);
                    break;
                case "--sessions":
                    sessions = Math.Max(2, int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--memory-only":
                    memoryOnly = true;
                    break;
                case "--batch-jobs":
                    batchJobs = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--batch-only":
                    batchOnly = true;
                    break;
                case "--interactive-only":
                    interactiveOnly = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}' (use --runs N, --parallel N, --throughput-runs N, --sessions N, --memory-only, --batch-jobs N, --batch-only, --interactive-only)");
            }
        }

        return new BenchOptions(runs, parallel, throughputRuns, sessions, memoryOnly, batchJobs, batchOnly, interactiveOnly);
    }
}
