using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Sandboxing;

public sealed class SandboxServiceCollectionExtensionsTests
{
    private static ServiceProvider Build(Dictionary<string, string?> settings, Action<IServiceCollection> register)
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(settings).Build());
        register(services);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void Bubblewrap_sandbox_is_the_sandbox_with_options_from_iris_sandbox()
    {
        using var provider = Build(new() { ["Iris:Sandbox:Uid"] = "62000", ["Iris:Sandbox:UidCount"] = "50" }, s => s.AddBubblewrapSandbox());

        Assert.IsType<BubblewrapSandbox>(provider.GetRequiredService<ISandbox>());
        Assert.Equal(62000, provider.GetRequiredService<IOptions<BubblewrapOptions>>().Value.Uid);
    }

    [Fact]
    public void Root_uid_and_a_missing_bwrap_fail_validation()
    {
        using var provider = Build(new() { ["Iris:Sandbox:Uid"] = "0", ["Iris:Sandbox:BwrapPath"] = "/nope/bwrap" }, s => s.AddBubblewrapSandbox());

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<BubblewrapOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains("BwrapPath", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("root", StringComparison.Ordinal));
    }

    [Fact]
    public void A_sandbox_registered_by_the_host_is_kept()
    {
        using var provider = Build([], s =>
        {
            s.AddSingleton<ISandbox, ProcessSandbox>();
            s.AddSingleton(Microsoft.Extensions.Options.Options.Create(new ProcessSandboxOptions()));
            s.AddBubblewrapSandbox();
        });

        Assert.IsType<ProcessSandbox>(provider.GetRequiredService<ISandbox>());
    }

    [Fact]
    public void Process_sandbox_can_be_chosen_for_runner_pods()
    {
        using var provider = Build([], s => s.AddProcessSandbox());

        Assert.Equal("process", provider.GetRequiredService<ISandbox>().Name);
    }
}
