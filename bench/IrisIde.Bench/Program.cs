using IrisIde.Bench;

// ./iris bench [--runs N] [--parallel N] [--batch-jobs N] [--batch-only] ...: prints medians and p95 of
// each figure, and each figure as a ratio to its baseline measured in the same run (docs/BENCHMARKS.md).
var options = BenchOptions.Parse(args);
return await new BenchRunner(options).RunAsync(CancellationToken.None);
