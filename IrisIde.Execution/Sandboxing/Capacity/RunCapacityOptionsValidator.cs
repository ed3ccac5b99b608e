using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sandboxing.Capacity;

/// <summary>Fails start-up when the configured capacity does not fit the host, saying by how much.</summary>
internal sealed class RunCapacityOptionsValidator(HostResources host) : IValidateOptions<RunCapacityOptions>
{
    public ValidateOptionsResult Validate(string? name, RunCapacityOptions options)
    {
        var (_, failures) = RunCapacity.Resolve(options, host);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
