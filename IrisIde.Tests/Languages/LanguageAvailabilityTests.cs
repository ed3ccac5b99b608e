using IrisIde.Execution.Languages;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Languages;

public sealed class LanguageAvailabilityTests
{
    private static LanguageDefinition Language(params string[] version) => Language(["/usr/bin/" + version[0]], version);

    private static LanguageDefinition Language(string[] toolchain, string[] version, string id = "probe") => new()
    {
        Id = id,
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

    [Fact]
    public async Task Asking_about_one_language_probes_that_one_only()
    {
        // A runner asks about the language it runs; the others' version commands (a JVM's: seconds of CPU under
        // gVisor) must not run for it. Each probe here leaves a file behind when it runs.
        var marks = Directory.CreateTempSubdirectory("iris-probe-");
        try
        {
            LanguageDefinition Marking(string id) =>
                Language(["/usr/bin/bash"], ["bash", "-c", $"echo probed > {marks.FullName}/{id}; echo 1.0"], id);
            var availability = new LanguageAvailability(new LanguageCatalog([Marking("first"), Marking("second")]), NullLogger<LanguageAvailability>.Instance);
            var first = availability.Catalog.All[0];

            var status = await availability.GetAsync(first, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(status.IsAvailable, status.Reason);
            Assert.Equal(["first"], marks.EnumerateFiles().Select(f => f.Name));

            // Asked again: the same answer, not a second probe.
            File.Delete(Path.Combine(marks.FullName, "first"));
            Assert.Same(status, await availability.GetAsync(first, CancellationToken.None));
            Assert.Empty(marks.EnumerateFiles());

            var all = await availability.GetAllAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(["first", "second"], all.Select(s => s.Language.Id));
            Assert.All(all, s => Assert.True(s.IsAvailable, s.Reason));
            Assert.Equal(["second"], marks.EnumerateFiles().Select(f => f.Name));
        }
        finally
        {
            marks.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_caller_that_gives_up_does_not_cancel_the_probe_for_the_next()
    {
        var availability = new LanguageAvailability(
            new LanguageCatalog([Language(["/usr/bin/bash"], ["bash", "-c", "sleep 0.5; echo 2.0"])]), NullLogger<LanguageAvailability>.Instance);
        var language = availability.Catalog.All[0];
        using var impatient = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => availability.GetAsync(language, impatient.Token));
        var status = await availability.GetAsync(language, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(status.IsAvailable, status.Reason);
        Assert.Equal("2.0", status.Version);
    }

    [Fact]
    public async Task A_language_outside_the_catalogue_is_refused()
    {
        var availability = new LanguageAvailability(new LanguageCatalog([Language("true")]), NullLogger<LanguageAvailability>.Instance);

        await Assert.ThrowsAsync<ArgumentException>(() => availability.GetAsync(Language(["/usr/bin/true"], ["true"], "elsewhere"), CancellationToken.None));
    }
}
