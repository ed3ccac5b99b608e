using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;
using IrisIde.Tests.Runs;

namespace IrisIde.Tests.Languages;

/// <summary>
/// Every catalogue language, through the real pipeline and sandbox: its IDE template asks for a name
/// and greets it, and its hello-world prints. A language whose toolchain is missing fails here: CI
/// installs them all, and the catalogue must not offer what the machine cannot run.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class LanguageTemplateTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    public static TheoryData<string> LanguageIds => [.. LanguageCatalog.LoadEmbedded().All.Select(l => l.Id)];

    private static LanguageDefinition Language(string id) => LanguageCatalog.LoadEmbedded().All.Single(l => l.Id == id);

    [Theory]
    [MemberData(nameof(LanguageIds))]
    public async Task The_template_asks_for_a_name_and_greets_it(string id)
    {
        var result = await fixture.RunAsync(id, Language(id).Template, stdin: "Ann\n");

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Contains("What is your name? ", result.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("Hello, Ann!\n", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(LanguageIds))]
    public async Task Hello_world_prints(string id)
    {
        var result = await fixture.RunAsync(id, Language(id).Hello);

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("Hello, World!\n", result.Stdout);
        Assert.Equal(0, result.Outcome.ExitCode);
    }
}
