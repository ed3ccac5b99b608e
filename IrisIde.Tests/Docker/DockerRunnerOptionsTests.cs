using IrisIde.Execution.Sessions.Docker;

namespace IrisIde.Tests.Docker;

public sealed class DockerRunnerOptionsTests
{
    private static string[] Problems(Dictionary<string, string> runnerSettings) =>
        [.. new DockerRunnerOptionsValidator().Validate(null, new DockerRunnerOptions { RunnerSettings = runnerSettings }).Failures ?? []];

    [Fact]
    public void Runner_settings_that_configure_the_runner_are_accepted()
    {
        Assert.Empty(Problems(new(StringComparer.Ordinal)
        {
            ["Iris__Limits__Interactive__CpuSeconds"] = "3",
            ["Iris__Limits__Interactive__MemoryBytes"] = "134217728",
            ["Iris__Protocol__MaxSessionSeconds"] = "600",
        }));
    }

    [Theory]
    [InlineData("PATH", "is not a runner setting")]
    [InlineData("LD_PRELOAD", "is not a runner setting")]
    [InlineData("DOTNET_TieredPGO", "is not a runner setting")]
    [InlineData("Iris__", "is not a runner setting")]
    [InlineData("Iris__Limits__Interactive__Cpu-Seconds", "is not a runner setting")]
    [InlineData("Iris__Limits__Interactive__CpuSeconds=1 Iris__Sandbox__Kind", "is not a runner setting")]
    [InlineData("Iris__Runner__AccessToken", "is set by the session host itself")]
    [InlineData("iris__sandbox__kind", "is not a runner setting")]
    [InlineData("Iris__sandbox__KIND", "is set by the session host itself")]
    [InlineData("Iris__Sandbox__Capacity__MemoryBytes", "is set by the session host itself")]
    public void Runner_settings_that_are_not_the_runners_or_are_the_session_hosts_are_refused(string variable, string reason)
    {
        var problem = Assert.Single(Problems(new(StringComparer.Ordinal) { [variable] = "1" }));

        Assert.Contains(reason, problem, StringComparison.Ordinal);
        Assert.Contains("Iris:Sessions:Docker:RunnerSettings", problem, StringComparison.Ordinal);
    }
}
