using IrisIde.Execution.Health;

namespace IrisIde.Worker;

/// <summary>One executable, two modes chosen by the first argument: <c>runner</c> and <c>worker</c>.</summary>
public static class Program
{
    /// <summary>Exit code for a mode that cannot start (wrong usage, or not built yet).</summary>
    public const int UsageExitCode = 2;

    public static async Task<int> Main(string[] args)
    {
        var mode = args.Length > 0 ? args[0] : null;
        switch (mode)
        {
            case "runner":
                await using (var app = RunnerHost.Build(args[1..]))
                {
                    await app.RunAsync();
                }

                return 0;

            case "worker":
                IHost worker;
                try
                {
                    worker = WorkerHost.Build(args[1..]);
                }
                catch (WorkerConfigurationException e)
                {
                    await Console.Error.WriteLineAsync($"IrisIde.Worker: {e.Message}");
                    return UsageExitCode;
                }

                using (worker)
                {
                    await worker.RunAsync();
                }

                return 0;

            case "probe":
                return await HealthProbe.RunAsync(args.Length > 1 ? args[1] : "http://127.0.0.1:8080/healthz", Console.Out);

            default:
                await Console.Error.WriteLineAsync("""
                    usage: IrisIde.Worker <mode> [options]
                      runner   serve the iris-runner protocol on /ws (and /languages, /healthz); listens on ASPNETCORE_URLS or http://0.0.0.0:8080
                      worker   run batch jobs from RabbitMQ (ConnectionStrings:RabbitMq), Iris:Batch:ConcurrentJobs at once
                      probe    [URL] exit 0 if URL (default http://127.0.0.1:8080/healthz, the runner's) answers 2xx, else 1: a container health check
                    """);
                return UsageExitCode;
        }
    }
}
