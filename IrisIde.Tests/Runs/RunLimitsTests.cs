using IrisIde.Execution.Runs;

namespace IrisIde.Tests.Runs;

public sealed class RunLimitsTests
{
    private static RunRequest Request(RunLimitOverrides? limits, RunMode mode = RunMode.Batch) => new()
    {
        Language = "python",
        Files = [new SourceFile("main.py", "print(1)")],
        Mode = mode,
        Limits = limits,
    };

    [Fact]
    public void Defaults_follow_the_design_table()
    {
        var options = new ExecutionOptions();

        var batch = RunPipeline.ResolveRunLimits(Request(null), options);
        var interactive = RunPipeline.ResolveRunLimits(Request(null, RunMode.Interactive), options);

        Assert.Equal((10, 5, 256L << 20, 64), (batch.WallSeconds, batch.CpuSeconds, batch.MemoryBytes, batch.Processes));
        Assert.Equal((1800, 60, 512L << 20), (interactive.WallSeconds, interactive.CpuSeconds, interactive.MemoryBytes));
        Assert.Equal(60, interactive.OutputWindowSeconds);
        Assert.Equal((15, 10, 512L << 20), (options.Compile.WallSeconds, options.Compile.CpuSeconds, options.Compile.MemoryBytes));
        Assert.Equal(600, options.IdleTimeoutSeconds);
        Assert.Equal((256 * 1024, 16), (options.MaxSourceBytesPerFile, options.MaxFiles));
    }

    [Fact]
    public void Requests_above_the_maximum_are_clamped_down()
    {
        var options = new ExecutionOptions();

        var limits = RunPipeline.ResolveRunLimits(Request(new RunLimitOverrides
        {
            WallSeconds = 100_000,
            CpuSeconds = 100_000,
            MemoryBytes = long.MaxValue,
            OutputBytes = long.MaxValue,
        }), options);

        Assert.Equal(options.Maximum.WallSeconds, limits.WallSeconds);
        Assert.Equal(options.Maximum.CpuSeconds, limits.CpuSeconds);
        Assert.Equal(options.Maximum.MemoryBytes, limits.MemoryBytes);
        Assert.Equal(options.Maximum.OutputBytes, limits.OutputBytes);
    }

    [Fact]
    public void Requests_below_the_maximum_are_kept()
    {
        var limits = RunPipeline.ResolveRunLimits(Request(new RunLimitOverrides { WallSeconds = 2, CpuSeconds = 1.5 }), new ExecutionOptions());

        Assert.Equal(2, limits.WallSeconds);
        Assert.Equal(1.5, limits.CpuSeconds);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    public void Zero_or_negative_never_means_unlimited(double value)
    {
        var error = Assert.Throws<RunValidationException>(() =>
            RunPipeline.ResolveRunLimits(Request(new RunLimitOverrides { CpuSeconds = value }), new ExecutionOptions()));

        Assert.Equal(RunRequestError.InvalidLimits, error.Error);
    }

    [Theory]
    [InlineData(1, null, null, "memory limit must be at least 16777216 bytes")]
    [InlineData(16L * 1024 * 1024 - 1, null, null, "memory limit must be at least 16777216 bytes")]
    [InlineData(null, 0.09, null, "CPU time limit must be at least 0.1 s")]
    [InlineData(null, null, 0.01, "wall time limit must be at least 0.1 s")]
    public void Limits_below_the_minimum_are_the_clients_mistake_not_an_internal_error(long? memory, double? cpu, double? wall, string message)
    {
        var error = Assert.Throws<RunValidationException>(() => RunPipeline.ResolveRunLimits(
            Request(new RunLimitOverrides { MemoryBytes = memory, CpuSeconds = cpu, WallSeconds = wall }), new ExecutionOptions()));

        Assert.Equal(RunRequestError.InvalidLimits, error.Error);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void The_minimums_themselves_are_accepted()
    {
        var limits = RunPipeline.ResolveRunLimits(
            Request(new RunLimitOverrides { MemoryBytes = RunPipeline.MinimumMemoryBytes, CpuSeconds = RunPipeline.MinimumSeconds, WallSeconds = RunPipeline.MinimumSeconds }), new ExecutionOptions());

        Assert.Equal((RunPipeline.MinimumMemoryBytes, 0.1, 0.1), (limits.MemoryBytes, limits.CpuSeconds, limits.WallSeconds));
    }

    [Fact]
    public void Configured_limits_that_are_not_positive_fail_validation_at_start_up()
    {
        var options = new ExecutionOptions();
        options.Batch.CpuSeconds = 0;
        options.Interactive.MemoryBytes = 0;

        var result = new ExecutionOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("Batch:CpuSeconds", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Interactive:MemoryBytes", result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Ann\r\n", "Ann\n")]
    [InlineData("Ann\r", "Ann\n")]
    [InlineData("a\rb\r\nc\n", "a\nb\nc\n")]
    [InlineData("plain", "plain")]
    public void Terminal_carriage_returns_become_newlines(string sent, string delivered)
    {
        Assert.Equal(delivered, RunSession.NormalizeNewlines(sent));
    }
}
