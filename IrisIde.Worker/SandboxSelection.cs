using IrisIde.Execution.Sandboxing;

namespace IrisIde.Worker;

/// <summary>The sandbox both modes run programs in, chosen by configuration.</summary>
public static class SandboxSelection
{
    /// <summary><c>Bubblewrap</c> (default) or <c>Process</c> (inside a runner pod, where the pod is the boundary).</summary>
    public const string SandboxKindKey = "Iris:Sandbox:Kind";

    /// <summary>Adds the sandbox <c>Iris:Sandbox:Kind</c> names; throws for a kind it does not know.</summary>
    public static IServiceCollection AddConfiguredSandbox(this IServiceCollection services, IConfiguration configuration)
    {
        var kind = configuration[SandboxKindKey];
        if (string.IsNullOrEmpty(kind) || string.Equals(kind, "Bubblewrap", StringComparison.OrdinalIgnoreCase))
        {
            return services.AddBubblewrapSandbox();
        }

        if (string.Equals(kind, "Process", StringComparison.OrdinalIgnoreCase))
        {
            return services.AddProcessSandbox();
        }

        throw new InvalidOperationException($"{SandboxKindKey}='{kind}' is not a sandbox IrisIde.Worker knows: use Bubblewrap or Process.");
    }
}
