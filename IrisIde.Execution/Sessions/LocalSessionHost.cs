using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;

namespace IrisIde.Execution.Sessions;

/// <summary>Runs sessions in this process through the <see cref="RunPipeline"/> and the configured sandbox.</summary>
public sealed class LocalSessionHost(RunPipeline pipeline, LanguageAvailability languages) : ISessionHost
{
    public const string HostName = "local";

    public string Name => HostName;

    public async Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(owner);
        return await pipeline.StartAsync(request with { Owner = owner.UserId }, cancellationToken);
    }

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) =>
        languages.GetAllAsync(cancellationToken);
}
