using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.AccessTokens;

/// <summary>
/// Token lifetimes. Section <c>Iris:Auth:AccessTokens</c>. There are no tokens that never expire: a token is a
/// password a script keeps in a file, and one forgotten in last year's grader should have died by itself.
/// </summary>
public sealed class AccessTokenOptions
{
    public const string SectionName = "Iris:Auth:AccessTokens";

    /// <summary>Lifetime of a token created without one.</summary>
    public int DefaultExpiryDays { get; set; } = 90;

    /// <summary>Longest lifetime a token may be given.</summary>
    public int MaxExpiryDays { get; set; } = 365;

    /// <summary>Tokens one user may hold that are neither revoked nor expired.</summary>
    public int MaxTokensPerUser { get; set; } = 50;
}

internal sealed class AccessTokenOptionsValidator : IValidateOptions<AccessTokenOptions>
{
    /// <summary>Ten years: beyond that "expires" means nothing.</summary>
    public const int CeilingDays = 3650;

    public ValidateOptionsResult Validate(string? name, AccessTokenOptions options)
    {
        var problems = new List<string>();
        if (options.MaxExpiryDays is < 1 or > CeilingDays)
        {
            problems.Add($"MaxExpiryDays must be between 1 and {CeilingDays} (is {options.MaxExpiryDays})");
        }

        if (options.DefaultExpiryDays < 1 || options.DefaultExpiryDays > options.MaxExpiryDays)
        {
            problems.Add($"DefaultExpiryDays must be between 1 and MaxExpiryDays ({options.MaxExpiryDays}) (is {options.DefaultExpiryDays})");
        }

        if (options.MaxTokensPerUser < 1)
        {
            problems.Add($"MaxTokensPerUser must be at least 1 (is {options.MaxTokensPerUser})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{AccessTokenOptions.SectionName}:{p}"));
    }
}
