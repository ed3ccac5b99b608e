using IrisIde.Bench;

// ./iris bench [--runs N] [--parallel N]: prints medians and p95 of each figure, and each sandboxed
// figure as a ratio to its bare-process baseline measured in the same run.
var options = BenchOptions.Parse(args);
return await new BenchRunner(options).RunAsync(CancellationToken.None);
