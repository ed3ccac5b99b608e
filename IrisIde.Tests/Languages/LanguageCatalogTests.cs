using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;

namespace IrisIde.Tests.Languages;

public sealed class LanguageCatalogTests
{
    private static readonly LanguageCatalog Catalog = LanguageCatalog.LoadEmbedded();

    [Theory]
    [InlineData("c", "c")]
    [InlineData("C", "c")]
    [InlineData("cpp", "cpp")]
    [InlineData("c++", "cpp")]
    [InlineData("Cpp", "cpp")]
    [InlineData("C++", "cpp")]
    [InlineData("python", "python")]
    [InlineData("python3", "python")]
    [InlineData("Python3", "python")]
    [InlineData("javascript", "javascript")]
    [InlineData("js", "javascript")]
    [InlineData("Javascript", "javascript")]
    [InlineData("node", "javascript")]
    [InlineData("java", "java")]
    [InlineData("Java", "java")]
    [InlineData("go", "go")]
    [InlineData("Go", "go")]
    [InlineData(" python ", "python")]
    public void Every_seed_spelling_resolves_case_insensitively(string sent, string expectedId)
    {
        Assert.True(Catalog.TryResolve(sent, out var language));
        Assert.Equal(expectedId, language.Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("cobol")]
    [InlineData("c#")]
    [InlineData("pyth on")]
    public void Unknown_names_do_not_resolve(string? sent)
    {
        Assert.False(Catalog.TryResolve(sent, out _));
    }

    [Fact]
    public void The_seed_six_are_in_the_catalogue()
    {
        var ids = Catalog.All.Select(l => l.Id).ToHashSet();
        Assert.Superset(new HashSet<string> { "c", "cpp", "python", "go", "java", "javascript" }, ids);
    }

    [Fact]
    public void Every_entry_is_complete()
    {
        foreach (var language in Catalog.All)
        {
            Assert.False(string.IsNullOrWhiteSpace(language.DisplayName), language.Id);
            Assert.Null(Execution.Workspaces.SourceFileName.Validate(language.FileName));
            Assert.NotEmpty(language.Run);
            Assert.NotEmpty(language.Version);
            Assert.False(string.IsNullOrWhiteSpace(language.Monaco), language.Id);
            Assert.False(string.IsNullOrWhiteSpace(language.Template), language.Id);
            Assert.False(string.IsNullOrWhiteSpace(language.Hello), language.Id);
            Assert.NotEmpty(language.DebianPackages);
            Assert.StartsWith("apt-get install ", language.InstallHint, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_name_claimed_by_two_languages_is_rejected()
    {
        LanguageDefinition Make(string id, params string[] aliases) => new()
        {
            Id = id,
            Aliases = aliases,
            DisplayName = id,
            FileName = "main.x",
            Run = ["x"],
            Version = ["x"],
            Monaco = "x",
            Template = "x",
            Hello = "x",
        };

        var error = Assert.Throws<InvalidOperationException>(() => new LanguageCatalog([Make("a", "shared"), Make("b", "SHARED")]));
        Assert.Contains("shared", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Every_language_lists_the_toolchain_paths_its_runs_see_including_its_version_command()
    {
        foreach (var language in Catalog.All)
        {
            Assert.True(language.Toolchain.Count > 0, $"{language.Id} lists no toolchain paths");
            Assert.True(language.ToolchainContains("/usr/bin/" + language.Version[0]), $"{language.Id}: '{language.Version[0]}' is not in its toolchain");
        }
    }

    [Fact]
    public async Task The_toolchain_paths_of_every_available_language_exist_on_this_host()
    {
        var availability = new LanguageAvailability(Catalog, Microsoft.Extensions.Logging.Abstractions.NullLogger<LanguageAvailability>.Instance);

        var statuses = await availability.GetAllAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(120));

        foreach (var status in statuses.Where(s => s.IsAvailable))
        {
            // A stale path (a JDK or Go version the host no longer has) would be skipped silently, and
            // the language would then fail inside the sandbox only.
            Assert.All(status.Language.Toolchain, path => Assert.True(Path.Exists(path), $"{status.Language.Id}: {path} does not exist"));
        }
    }

    [Theory]
    [InlineData("usr/bin/x")]
    [InlineData("/usr/lib/../bin")]
    [InlineData("/usr/lib/")]
    [InlineData("/")]
    [InlineData("/etc")]
    [InlineData("/etc/passwd")]
    [InlineData("/proc/self")]
    [InlineData("/tmp/tool")]
    [InlineData("/workspace")]
    public void A_toolchain_path_that_is_not_absolute_and_normal_or_that_the_sandbox_builds_is_rejected(string path)
    {
        var language = Catalog.All[0] with { Toolchain = [path] };

        var error = Assert.Throws<InvalidOperationException>(() => new LanguageCatalog([language]));
        Assert.Contains(path, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("c", new[] { "main.c", "util.h", "util.c", "notes.txt", "more.c" }, new[] { "main.c", "util.c", "more.c" })]
    [InlineData("cpp", new[] { "main.cpp", "a.hpp", "a.cpp", "b.cc", "c.c" }, new[] { "main.cpp", "a.cpp", "b.cc" })]
    [InlineData("java", new[] { "Main.java", "Util.java", "data.txt" }, new[] { "Main.java", "Util.java" })]
    [InlineData("python", new[] { "main.py", "util.py" }, new[] { "main.py" })]
    [InlineData("c", new[] { "prog", "util.c" }, new[] { "prog", "util.c" })]
    public void The_compiler_gets_the_main_file_then_every_other_file_with_a_source_extension_in_order(string language, string[] names, string[] expected)
    {
        Assert.True(Catalog.TryResolve(language, out var definition));
        var defaults = new ExecutionOptions();
        var plan = new RunPlan(
            new RunRequest { Language = language, Files = [.. names.Select(n => new SourceFile(n, string.Empty))] },
            definition,
            [.. names.Select(n => new SourceFile(n, string.Empty))],
            defaults.Compile,
            defaults.Batch,
            null,
            new IrisIde.Execution.Workspaces.WorkspaceArea(new IrisIde.Execution.Workspaces.WorkspaceSettings("/unused", 1 << 20, 64), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance));

        Assert.Equal(expected, plan.SourceFiles);
        if (plan.CompileCommand is { } compile)
        {
            Assert.Equal(expected, compile.Where(names.Contains));
        }
    }
}
