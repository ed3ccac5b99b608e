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
        var available = (await languages.GetAllAsync(cancellationToken)).Where(l => l.IsAvailable).Select(l => l.Language).ToList();
        var language = Preferred.Select(id => available.FirstOrDefault(l => l.Id == id)).FirstOrDefault(l => l is not null) ?? available.FirstOrDefault();
        if (language is null)
        {
            return null;
        }

        var code = language.Id == "python" ? "print(1)\n" : language.Template;
        return (language, RunRequestFactory.Batch(language.Id, [new SourceFile(string.Empty, code)], stdin: null, limits: null));
    }
}
