using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The README's pictures: every shot goes to the test output folder (<c>screenshots/</c>); with
/// <c>IRIS_UPDATE_SCREENSHOTS=1</c> it also replaces <c>docs/screenshots/NAME</c>.
/// </summary>
internal static class Screenshots
{
    /// <summary>Shoots the viewport once the page has painted, checks it is a PNG of the fixture's viewport, keeps it.</summary>
    public static async Task<byte[]> ShootAsync(IPage page, string name)
    {
        // Let the last change paint and the cursor settle before the picture.
        await page.EvaluateAsync("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))").WaitAsync(IdePage.Timeout);
        await Task.Delay(300);
        var png = await page.ScreenshotAsync(new PageScreenshotOptions { Type = ScreenshotType.Png }).WaitAsync(IdePage.Timeout);
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
