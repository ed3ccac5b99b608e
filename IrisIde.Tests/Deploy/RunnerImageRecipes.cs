using System.Text.RegularExpressions;
using IrisIde.Tests.Support;

namespace IrisIde.Tests.Deploy;

/// <summary>
/// The two recipes of the runner image: <c>deploy/runner/Dockerfile</c> (machines that can pull) and
/// <c>deploy/runner/build-rootfs.sh</c> (built offline, what the tests run).
/// </summary>
public static partial class RunnerImageRecipes
{
    public static string Dockerfile => RepositoryFiles.PathOf("deploy", "runner", "Dockerfile");

    public static string OfflineBuild => RepositoryFiles.PathOf("deploy", "runner", "build-rootfs.sh");

    /// <summary>The Dockerfile's runtime settings, read once: what a runner in a real pod gets from its image.</summary>
    public static IReadOnlyDictionary<string, string> ImageRuntimeSettings => ImageSettings.Value;

    private static readonly Lazy<IReadOnlyDictionary<string, string>> ImageSettings = new(() => RuntimeSettings(Dockerfile));

    /// <summary>The .NET runtime settings (<c>DOTNET_…=value</c>) a recipe puts in the image's environment, by name.</summary>
    public static IReadOnlyDictionary<string, string> RuntimeSettings(string recipe) =>
        RuntimeSetting().Matches(File.ReadAllText(recipe))
            .ToDictionary(match => match.Groups["name"].Value, match => match.Groups["value"].Value, StringComparer.Ordinal);

    // One ENV continuation line: "    DOTNET_Name=value \".
    [GeneratedRegex(@"^\s+(?<name>DOTNET_[A-Za-z_]+)=(?<value>\S+)\s*\\+$", RegexOptions.Multiline)]
    private static partial Regex RuntimeSetting();
}

public sealed class RunnerImageRecipeTests
{
    [Fact]
    public void Both_recipes_give_the_runner_the_same_runtime_settings()
    {
        var pulled = RunnerImageRecipes.RuntimeSettings(RunnerImageRecipes.Dockerfile);
        var offline = RunnerImageRecipes.RuntimeSettings(RunnerImageRecipes.OfflineBuild);

        Assert.Equal(pulled.OrderBy(s => s.Key, StringComparer.Ordinal), offline.OrderBy(s => s.Key, StringComparer.Ordinal));
        // A runner lives for one session: no instrumented tier, no recompilation while it starts and waits.
        Assert.Equal("0", pulled["DOTNET_TieredPGO"]);
        Assert.Equal("10000", pulled["DOTNET_TC_CallCountingDelayMs"]);
    }
}
