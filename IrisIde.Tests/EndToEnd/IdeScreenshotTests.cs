using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// Screenshots of the IDE after a run, dark and light, at 1280×800. Every run writes them to the
/// test output folder; with IRIS_UPDATE_SCREENSHOTS=1 they also replace docs/screenshots/*.png:
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

        var dark = await ShootAsync(ide, "ide-dark.png");
        await ide.ThemeToggle.ClickAsync().WaitAsync(IdePage.Timeout);
        await ide.WaitUntilAsync(async () => await ide.ThemeAsync() == "light", "the light theme");
        var light = await ShootAsync(ide, "ide-light.png");

        Assert.NotEqual(dark, light);
    }

    private static async Task<byte[]> ShootAsync(IdePage ide, string name)
    {
        // Let the theme change and the cursor settle before the picture.
        await ide.Page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))").WaitAsync(IdePage.Timeout);
        await Task.Delay(300);
        var png = await ide.Page.ScreenshotAsync(new PageScreenshotOptions { Type = ScreenshotType.Png }).WaitAsync(IdePage.Timeout);
        var (width, height) = PngSize(png);
        Assert.Equal((IdeFixture.Viewport.Width, IdeFixture.Viewport.Height), (width, height));

        var output = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(output);
        await File.WriteAllBytesAsync(Path.Combine(output, name), png).WaitAsync(IdePage.Timeout);
        if (Environment.GetEnvironmentVariable("IRIS_UPDATE_SCREENSHOTS") == "1")
        {
            var docs = Path.Combine(RepositoryRoot(), "docs", "screenshots");
            Directory.CreateDirectory(docs);
            await File.WriteAllBytesAsync(Path.Combine(docs, name), png).WaitAsync(IdePage.Timeout);
        }

        return png;
    }

    private static (int Width, int Height) PngSize(byte[] png)
    {
        Assert.True(png.Length > 24 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', "a PNG file");
        static int BigEndian(byte[] b, int at) => (b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
        return (BigEndian(png, 16), BigEndian(png, 20));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "IrisIde.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("IrisIde.sln not found above " + AppContext.BaseDirectory);
    }
}
