using IrisIde.Execution.Languages;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Languages;

public sealed class LanguageAvailabilityTests
{
    private static LanguageDefinition Language(params string[] version) => Language(["/usr/bin/" + version[0]], version);

    private static LanguageDefinition Language(string[] toolchain, string[] version) => new()
    {
        Id = "probe",
        DisplayName = "Probe",
        FileName = "main.probe",
        Run = ["true"],
        Version = version,
        Monaco = "plaintext",
        DebianPackages = ["probe-pkg"],
        Toolchain = toolchain,
        Template = "x",
        Hello = "x",
    };

    [Fact]
    public async Task A_missing_toolchain_is_unavailable_with_its_install_hint()
    {
        var status = await LanguageAvailability.ProbeAsync(Language("no-such-compiler-iris"), NullLogger.Instance).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(status.IsAvailable);
        Assert.Contains("apt-get install probe-pkg", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failing_version_command_is_unavailable()
    {
        var status = await LanguageAvailability.ProbeAsync(Language("false"), NullLogger.Instance).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(status.IsAvailable);
        Assert.Contains("exited with code 1", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_working_toolchain_reports_its_version()
    {
        var status = await LanguageAvailability.ProbeAsync(Language("bash", "-c", "echo 9.8.7; echo second line"), NullLogger.Instance).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(status.IsAvailable, status.Reason);
        Assert.Equal("9.8.7", status.Version);
    }

    [Fact]
    public async Task The_seed_languages_are_available_on_this_machine()
    {
        var availability = new LanguageAvailability(LanguageCatalog.LoadEmbedded(), NullLogger<LanguageAvailability>.Instance);

        var statuses = await availability.GetAllAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));

        foreach (var id in new[] { "c", "cpp", "python", "go", "java", "javascript" })
        {
            var status = Assert.Single(statuses, s => s.Language.Id == id);
            Assert.True(status.IsAvailable, $"{id}: {status.Reason}");
            Assert.False(string.IsNullOrWhiteSpace(status.Version));
        }
    }

    [Fact]
    public async Task A_tool_outside_the_languages_toolchain_is_unavailable_because_runs_would_not_see_it()
    {
        var status = await LanguageAvailability.ProbeAsync(Language(["/usr/lib/probe"], ["bash", "-c", "echo 1.0"]), NullLogger.Instance)
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.False(status.IsAvailable);
        Assert.Contains("'/usr/bin/bash' is not among the language's toolchain paths", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tools_resolve_on_the_sandbox_path_not_the_hosts()
    {
        // The host PATH may put pyenv's python first; inside the sandbox only /usr and /bin exist.
        Assert.Equal("/usr/bin/python3", LanguageAvailability.ResolveOnSandboxPath("python3"));
        Assert.Null(LanguageAvailability.ResolveOnSandboxPath("definitely-not-installed-iris"));
    }
}
