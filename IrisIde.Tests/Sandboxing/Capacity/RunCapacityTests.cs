using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Capacity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Sandboxing.Capacity;

public sealed class RunCapacityTests
{
    private const long GiB = 1024L * 1024 * 1024;
    private const long MiB = 1024L * 1024;

    private static readonly HostResources Host = new(16 * GiB, null, 4_194_304, 200_000, null);

    [Fact]
    public void Defaults_leave_ten_percent_of_memory_and_pids_to_the_server_and_the_system()
    {
        var (capacity, failures) = RunCapacity.Resolve(new RunCapacityOptions(), Host);

        Assert.Empty(failures);
        Assert.Equal(16 * GiB - (16 * GiB / 10), capacity!.MemoryBytes);
        Assert.Equal(200_000 - 20_000, capacity.MaxProcesses);
    }

    [Fact]
    public void A_small_host_keeps_at_least_512_MiB_and_1024_pids()
    {
        var (capacity, _) = RunCapacity.Resolve(new RunCapacityOptions(), new HostResources(2 * GiB, null, 32_768, 7_000, null));

        Assert.Equal(2 * GiB - 512 * MiB, capacity!.MemoryBytes);
        Assert.Equal(7_000 - 1_024, capacity.MaxProcesses);
    }

    [Fact]
    public void The_servers_own_cgroup_limits_count_when_they_are_tighter_than_the_host()
    {
        var (capacity, _) = RunCapacity.Resolve(new RunCapacityOptions(), new HostResources(16 * GiB, 4 * GiB, 4_194_304, 200_000, 10_000));

        Assert.Equal(4 * GiB - 512 * MiB, capacity!.MemoryBytes);
        Assert.Equal(10_000 - 1_024, capacity.MaxProcesses);
    }

    [Fact]
    public void Configured_values_replace_the_derived_ones()
    {
        var (byTotal, _) = RunCapacity.Resolve(new RunCapacityOptions { MemoryBytes = 8 * GiB, MaxProcesses = 5_000 }, Host);
        var (byReserve, _) = RunCapacity.Resolve(new RunCapacityOptions { MemoryReserveBytes = 2 * GiB, ProcessReserve = 100_000 }, Host);

        Assert.Equal(new RunCapacity(8 * GiB, 5_000), byTotal);
        Assert.Equal(new RunCapacity(14 * GiB, 100_000), byReserve);
    }

    [Fact]
    public void A_capacity_larger_than_the_host_fails_with_both_numbers()
    {
        var (capacity, failures) = RunCapacity.Resolve(new RunCapacityOptions { MemoryBytes = 32 * GiB, MaxProcesses = 300_000 }, Host);

        Assert.Null(capacity);
        Assert.Contains(failures, f => f.Contains("MemoryBytes is 32 GiB", StringComparison.Ordinal) && f.Contains("host's 16 GiB", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("MaxProcesses is 300000", StringComparison.Ordinal) && f.Contains("host's 200000", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reserve_that_leaves_runs_too_little_fails_and_says_what_is_left()
    {
        var (_, failures) = RunCapacity.Resolve(new RunCapacityOptions { MemoryReserveBytes = 16 * GiB - 10 * MiB, ProcessReserve = 199_990 }, Host);

        Assert.Contains(failures, f => f.Contains("runs would get 0.01 GiB (10485760 bytes)", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("runs would get 10 of the host's 200000 pids", StringComparison.Ordinal));
    }

    [Fact]
    public void Total_and_reserve_together_are_ambiguous()
    {
        var (_, failures) = RunCapacity.Resolve(new RunCapacityOptions { MemoryBytes = GiB, MemoryReserveBytes = GiB }, Host);

        Assert.Contains(failures, f => f.Contains("MemoryBytes or MemoryReserveBytes, not both", StringComparison.Ordinal));
    }

    [Fact]
    public void The_sandbox_registers_the_capacity_from_iris_sandbox_capacity_and_validates_it_at_start_up()
    {
        using var valid = Build(new() { ["Iris:Sandbox:Capacity:MemoryBytes"] = (4 * GiB).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var invalid = Build(new() { ["Iris:Sandbox:Capacity:MemoryBytes"] = (64 * GiB).ToString(System.Globalization.CultureInfo.InvariantCulture) });

        Assert.Equal(new RunCapacity(4 * GiB, 180_000), valid.GetRequiredService<RunCapacity>());
        var error = Assert.Throws<OptionsValidationException>(() => invalid.GetRequiredService<IOptions<RunCapacityOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains("host's 16 GiB", StringComparison.Ordinal));
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        services.AddSingleton(Host);
        services.AddBubblewrapSandbox();
        return services.BuildServiceProvider();
    }
}
