namespace IrisIde.Execution.Protocol;

/// <summary>The signals a client may send by name (<c>{"type":"signal","data":"SIGINT"}</c>), with Linux numbers.</summary>
public static class RunnerSignals
{
    /// <summary>SIGINT, what Ctrl+C sends.</summary>
    public const int Interrupt = 2;

    private static readonly Dictionary<string, int> Numbers = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SIGHUP"] = 1,
        ["SIGINT"] = Interrupt,
        ["SIGQUIT"] = 3,
        ["SIGKILL"] = 9,
        ["SIGUSR1"] = 10,
        ["SIGUSR2"] = 12,
        ["SIGTERM"] = 15,
    };

    public static IEnumerable<string> Names => Numbers.Keys;

    /// <summary>The name a client sends for signal <paramref name="number"/>; false for a signal the protocol cannot carry.</summary>
    public static bool TryGetName(int number, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out string? name)
    {
        foreach (var (candidate, value) in Numbers)
        {
            if (value == number)
            {
                name = candidate;
                return true;
            }
        }

        name = null;
        return false;
    }

    /// <summary>Accepts <c>SIGINT</c> or <c>INT</c>, in any case.</summary>
    public static bool TryParse(string? name, out int number)
    {
        number = 0;
        if (string.IsNullOrWhiteSpace(name))
        {
            return false;
        }

        var trimmed = name.Trim();
        return Numbers.TryGetValue(trimmed, out number) || Numbers.TryGetValue("SIG" + trimmed, out number);
    }
}
