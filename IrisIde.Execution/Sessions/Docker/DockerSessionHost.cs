using IrisIde.Execution.Languages;
using IrisIde.Execution.Protocol;
using IrisIde.Execution.Sessions.Runners;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sessions.Docker;

/// <summary>
/// <c>Iris:Sessions:Host=Docker</c>: every session on a runner container of its own, reached over the runner's unix
/// socket (or its address on an internal network), removed when the session ends.
/// </summary>
internal sealed class DockerSessionHost(
    DockerRunnerPool pool,
    LanguageCatalog catalog,
    RunnerProtocolClientOptions clientOptions,
    ILoggerFactory loggerFactory) : RunnerSessionHost<DockerRunner>(HostName, pool, catalog, clientOptions, loggerFactory)
{
    public const string HostName = "docker";
}
