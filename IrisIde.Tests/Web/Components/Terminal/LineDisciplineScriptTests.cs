using System.Diagnostics;

namespace IrisIde.Tests.Web.Components.Terminal;

/// <summary>
/// The terminal's line discipline is a plain ES module with its own <c>node --test</c> suite
/// (IrisIde.Web/Components/Terminal/lineDiscipline.test.mjs); this runs it with the rest of the tests.
/// </summary>
public sealed class LineDisciplineScriptTests
{
    [Fact]
    public async Task Line_discipline_script_tests_pass_under_node()
    {
        var script = Path.Combine(RepositoryRoot(), "IrisIde.Web", "Components", "Terminal", "lineDiscipline.test.mjs");
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { "--test", "--test-reporter=tap", script },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var node = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();

        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));

        Assert.True(node.ExitCode == 0, $"node --test exited with {node.ExitCode}:\n{await output}\n{await error}");
        Assert.Contains("# fail 0", await output, StringComparison.Ordinal);
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
