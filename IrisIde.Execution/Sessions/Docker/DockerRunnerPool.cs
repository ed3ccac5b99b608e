using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>Runner containers started ahead, sized by <see cref="DockerRunnerOptions"/>.</summary>
internal sealed class DockerRunnerPool(
    DockerRunnerFactory factory,
    IOptions<DockerRunnerOptions> options,
    IOptions<RunnerProtocolOptions> protocol,
    TimeProvider time,
    ILogger<DockerRunnerPool> logger)
    : RunnerPool<DockerRunner>("Docker", factory, options.Value.PoolLimits(protocol.Value), time, logger);
