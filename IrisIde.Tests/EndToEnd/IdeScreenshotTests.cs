namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// Screenshots of the IDE after a run, dark and light, at 1280×800 (see <see cref="Screenshots"/>):
/// <c>IRIS_UPDATE_SCREENSHOTS=1 ./iris test --filter "FullyQualifiedName~IdeScreenshotTests"</c>.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class IdeScreenshotTests(IdeFixture fixture)
{
    private const string Program = """
        name = input("What is your name? ")
        for i in range(1, 4):
            print(f"{i}. Hello, {name}!")
        print("\x1b[32mDone.\x1b[0m")

        """;

    [Fact]
    public async Task Screenshots_of_the_ide_after_a_run_in_dark_and_light_theme_are_1280_by_800()
    {
        await using var ide = await fixture.OpenIdeAsync();
        await ide.RunAsync("python", Program);
        await ide.WaitForTerminalTextAsync("What is your name?");
        await ide.TypeInTerminalAsync("Ada\n");
        await ide.WaitForTerminalTextAsync("Done.");
        await ide.WaitForExitAsync();
        Assert.Equal("dark", await ide.ThemeAsync());

        var dark = await Screenshots.ShootAsync(ide.Page, "ide-dark.png");
        await ide.ThemeToggle.ClickAsync().WaitAsync(IdePage.Timeout);
        await ide.WaitUntilAsync(async () => await ide.ThemeAsync() == "light", "the light theme");
        var light = await Screenshots.ShootAsync(ide.Page, "ide-light.png");

        Assert.NotEqual(dark, light);
    }
}
