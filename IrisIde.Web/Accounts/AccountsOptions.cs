using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts;

/// <summary>Sign-in rules. Section <c>Iris:Auth</c> (shared with <see cref="Runner.RunnerAccessOptions"/>).</summary>
public sealed class AccountsOptions
{
    public const string SectionName = "Iris:Auth";

    /// <summary>Shortest password accepted. Length is what makes a password strong; no character classes are demanded.</summary>
    public int MinPasswordLength { get; set; } = 10;

    /// <summary>Failed sign-ins in a row after which the account is locked.</summary>
    public int MaxFailedSignIns { get; set; } = 5;

    public int LockoutMinutes { get; set; } = 15;

    /// <summary>
    /// Failed sign-ins one client address may make per <see cref="LockoutMinutes"/> (whatever the accounts),
    /// before its sign-ins are refused until the window moves on.
    /// </summary>
    public int MaxFailedSignInsPerAddress { get; set; } = 30;

    /// <summary>
    /// How often a sign-in cookie is checked against the account (security stamp): a disabled user, a reset
    /// password or a changed role takes effect on that user's next request after at most this long.
    /// </summary>
    public int SessionRecheckSeconds { get; set; } = 60;

    /// <summary>A sign-in lasts this long without a request (sliding); it never outlives the browser session.</summary>
    public int SessionHours { get; set; } = 8;
}

internal sealed class AccountsOptionsValidator : IValidateOptions<AccountsOptions>
{
    public ValidateOptionsResult Validate(string? name, AccountsOptions options)
    {
        var problems = new List<string>();
        if (options.MinPasswordLength is < 8 or > 128)
        {
            problems.Add($"MinPasswordLength must be between 8 and 128 (is {options.MinPasswordLength})");
        }

        if (options.MaxFailedSignIns is < 1 or > 100)
        {
            problems.Add($"MaxFailedSignIns must be between 1 and 100 (is {options.MaxFailedSignIns})");
        }

        if (options.MaxFailedSignInsPerAddress < 1)
        {
            problems.Add($"MaxFailedSignInsPerAddress must be at least 1 (is {options.MaxFailedSignInsPerAddress})");
        }

        if (options.LockoutMinutes < 1)
        {
            problems.Add($"LockoutMinutes must be at least 1 (is {options.LockoutMinutes})");
        }

        if (options.SessionRecheckSeconds < 0)
        {
            problems.Add($"SessionRecheckSeconds must not be negative (is {options.SessionRecheckSeconds})");
        }

        if (options.SessionHours < 1)
        {
            problems.Add($"SessionHours must be at least 1 (is {options.SessionHours})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{AccountsOptions.SectionName}:{p}"));
    }
}
