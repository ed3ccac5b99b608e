using System.Collections.Frozen;
using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Languages;

/// <summary>Whether a catalogue language can run on this machine, and which version.</summary>
public sealed record LanguageStatus(LanguageDefinition Language, bool IsAvailable, string? Version, string? Reason);

/// <summary>
/// Probes each language once, when it is first asked about (its version command, resolved on the sandbox's
/// PATH among the language's own toolchain paths), so that an unavailable language is reported with its
/// install hint instead of being offered and then failing. A server that lists languages probes them all
/// while it starts (<see cref="LanguageProbeHostedService"/>); a runner, which serves one session, probes
/// only the language it is asked to run (a JVM's or rustc's version command is seconds of CPU under gVisor).
/// </summary>
public sealed class LanguageAvailability(LanguageCatalog catalog, ILogger<LanguageAvailability> logger)
{
    /// <summary>The PATH programs see inside the sandbox; probes resolve tools on it, not on the host's PATH.</summary>
    public const string SandboxPath = "/usr/local/bin:/usr/bin:/bin";

    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(20);

    // One probe per language, started by whoever asks first; a caller that gives up does not cancel it for the others.
    private readonly FrozenDictionary<string, Lazy<Task<LanguageStatus>>> _probes = catalog.All.ToFrozenDictionary(
        language => language.Id,
        language => new Lazy<Task<LanguageStatus>>(() => ProbeAsync(language, logger), LazyThreadSafetyMode.ExecutionAndPublication),
        StringComparer.Ordinal);

    public LanguageCatalog Catalog => catalog;

    /// <summary>Every catalogue language's status, in catalogue order (probing, at once, those not probed yet).</summary>
    public async Task<IReadOnlyList<LanguageStatus>> GetAllAsync(CancellationToken cancellationToken) =>
        await Task.WhenAll(catalog.All.Select(language => _probes[language.Id].Value)).WaitAsync(cancellationToken);

    /// <summary>One language's status (probing only it, if nobody has yet).</summary>
    public Task<LanguageStatus> GetAsync(LanguageDefinition language, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(language);
        return _probes.TryGetValue(language.Id, out var probe)
            ? probe.Value.WaitAsync(cancellationToken)
            : throw new ArgumentException($"'{language.Id}' is not in the catalogue.", nameof(language));
    }

    internal static async Task<LanguageStatus> ProbeAsync(LanguageDefinition language, ILogger logger)
    {
        var executable = ResolveOnSandboxPath(language.Version[0], language);
        if (executable is null)
        {
            var missing = ResolveOnSandboxPath(language.Version[0]) is { } outside
                ? $"'{outside}' is not among the language's toolchain paths in the catalogue, so runs would not see it"
                : $"'{language.Version[0]}' is not installed ({language.InstallHint})";
            LanguageAvailabilityLog.LanguageUnavailable(logger, language.Id, missing);
            return new LanguageStatus(language, false, null, missing);
        }

        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in language.Version.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Clear();
        start.Environment["PATH"] = SandboxPath;
        start.Environment["LANG"] = "C.UTF-8";
        start.Environment["HOME"] = Path.GetTempPath();
        foreach (var (key, value) in language.Environment)
        {
            start.Environment[key] = value;
        }

        using var timeout = new CancellationTokenSource(ProbeTimeout);
        try
        {
            using var process = Process.Start(start)!;
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
            var output = (await stdout).Trim();
            if (output.Length == 0)
            {
                output = (await stderr).Trim();
            }

            if (process.ExitCode != 0)
            {
                var failed = $"'{string.Join(' ', language.Version)}' exited with code {process.ExitCode} ({language.InstallHint})";
                LanguageAvailabilityLog.LanguageUnavailable(logger, language.Id, failed);
                return new LanguageStatus(language, false, null, failed);
            }

            var version = output.Split('\n', 2)[0].Trim();
            LanguageAvailabilityLog.LanguageAvailable(logger, language.Id, version);
            return new LanguageStatus(language, true, version, null);
        }
        catch (Exception ex) when (ex is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            var failed = $"version probe failed: {ex.Message}";
            LanguageAvailabilityLog.LanguageUnavailable(logger, language.Id, failed);
            return new LanguageStatus(language, false, null, failed);
        }
    }

    /// <summary>
    /// Where <paramref name="command"/> is found on the sandbox's PATH; with <paramref name="language"/>,
    /// only among that language's toolchain paths — what its runs will see, not whatever the host has
    /// (a <c>/usr/local/bin/python3</c> is not what a run gets).
    /// </summary>
    internal static string? ResolveOnSandboxPath(string command, LanguageDefinition? language = null)
    {
        var candidates = command.Contains('/', StringComparison.Ordinal)
            ? [command]
            : SandboxPath.Split(':').Select(dir => Path.Combine(dir, command));
        return candidates.FirstOrDefault(candidate =>
            File.Exists(candidate) && (language is null || language.ToolchainContains(candidate)));
    }
}

/// <summary>Probes the catalogue while the host starts, so the first request does not pay for it.</summary>
internal sealed class LanguageProbeHostedService(LanguageAvailability availability) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => availability.GetAllAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

internal static partial class LanguageAvailabilityLog
{
    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "Language {LanguageId} available: {Version}")]
    public static partial void LanguageAvailable(ILogger logger, string languageId, string version);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "Language {LanguageId} unavailable: {Reason}")]
    public static partial void LanguageUnavailable(ILogger logger, string languageId, string reason);
}
