using IrisIde.Execution.Languages;

namespace IrisIde.Execution.Runs;

/// <summary>
/// The smallest real run a server can make of itself (the web app's start-up self-test, a runner's warm-up): Python's
/// <c>print(1)</c>, else JavaScript's or the first available language's hello-world, through the batch path.
/// </summary>
public static class TinyRun
{
    private static readonly string[] Preferred = ["python", "javascript"];

    /// <summary>The language to use and the request, or null when no language is available.</summary>
    public static async Task<(LanguageDefinition Language, RunRequest Request)?> CreateAsync(LanguageAvailability languages, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(languages);
        // One language at a time, preferred first: a runner probes nothing beyond the language it warms up with.
        var candidates = languages.Catalog.All.OrderBy(l => Array.IndexOf(Preferred, l.Id) is var rank and >= 0 ? rank : Preferred.Length);
        LanguageDefinition? language = null;
        foreach (var candidate in candidates)
        {
            if ((await languages.GetAsync(candidate, cancellationToken)).IsAvailable)
            {
                language = candidate;
                break;
            }
        }

        if (language is null)
        {
            return null;
        }

        var code = language.Id == "python" ? "print(1)\n" : language.Template;
        return (language, RunRequestFactory.Batch(language.Id, [new SourceFile(string.Empty, code)], stdin: null, limits: null));
    }
}
