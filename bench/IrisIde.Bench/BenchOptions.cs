using System.Globalization;

namespace IrisIde.Bench;

internal sealed record BenchOptions(int Runs, int Parallel, int ThroughputRuns, int Sessions, bool MemoryOnly, int BatchJobs, int BatchWarmUpJobs, bool BatchOnly, bool InteractiveOnly, bool HistoryOnly, bool PagingOnly, bool DashboardOnly, bool DockerOnly, bool ThroughputOnly)
{
    public static BenchOptions Parse(string[] args)
    {
        var runs = 30;
        var parallel = Environment.ProcessorCount;
        var throughputRuns = 60;
        var sessions = 100;
        var memoryOnly = false;
        var batchJobs = 200;

        // Enough for the JIT to have moved the batch path's hot methods to their final tier: with 10, about
        // half of the web app's CPU in the measured batch was the tiered compiler's (perf, 2026-11-30); after
        // 60, the next 200 jobs still cost the web app 39 ms each, the 200 after those 9.5 ms.
        var batchWarmUpJobs = 300;
        var batchOnly = false;
        var interactiveOnly = false;
        var historyOnly = false;
        var pagingOnly = false;
        var dashboardOnly = false;
        var dockerOnly = false;
        var throughputOnly = false;
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
                case "--batch-warm-up":
                    batchWarmUpJobs = Math.Max(1, int.Parse(args[++i], CultureInfo.InvariantCulture));
                    break;
                case "--batch-only":
                    batchOnly = true;
                    break;
                case "--interactive-only":
                    interactiveOnly = true;
                    break;
                case "--history-only":
                    historyOnly = true;
                    break;
                case "--paging-only":
                    pagingOnly = true;
                    break;
                case "--dashboard-only":
                    dashboardOnly = true;
                    break;
                case "--docker-only":
                    dockerOnly = true;
                    break;
                case "--throughput-only":
                    throughputOnly = true;
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{args[i]}' (use --runs N, --parallel N, --throughput-runs N, --sessions N, --memory-only, --batch-jobs N, --batch-warm-up N, --batch-only, --interactive-only, --history-only, --paging-only, --dashboard-only, --docker-only, --throughput-only)");
            }
        }

        return new BenchOptions(runs, parallel, throughputRuns, sessions, memoryOnly, batchJobs, batchWarmUpJobs, batchOnly, interactiveOnly, historyOnly, pagingOnly, dashboardOnly, dockerOnly, throughputOnly);
    }
}
