using Microsoft.Extensions.Options;

namespace IrisIde.Web.Audit;

/// <summary>The audit log. Section <c>Iris:Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string SectionName = "Iris:Audit";

    /// <summary>Entries older than this are deleted by the background purge.</summary>
    public int RetentionDays { get; set; } = 365;

    public int PurgeIntervalMinutes { get; set; } = 60;

    /// <summary>Entries waiting for the database; when the queue is full new entries are dropped (counted and logged), never waited for.</summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>
    /// Refused anonymous attempts (bad access tokens, throttled sign-ins, failed single sign-on callbacks) kept
    /// one by one per minute, across all addresses; the rest of the minute is counted into one entry per action.
    /// </summary>
    public int RefusalEntriesPerMinute { get; set; } = 20;
}

internal sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var problems = new List<string>();
        if (options.RetentionDays < 1)
        {
            problems.Add($"RetentionDays must be at least 1 (is {options.RetentionDays})");
        }

        if (options.PurgeIntervalMinutes < 1)
        {
            problems.Add($"PurgeIntervalMinutes must be at least 1 (is {options.PurgeIntervalMinutes})");
        }

        if (options.QueueCapacity is < 1 or > 1_000_000)
        {
            problems.Add($"QueueCapacity must be between 1 and 1000000 (is {options.QueueCapacity})");
        }

        if (options.RefusalEntriesPerMinute < 0)
        {
            problems.Add($"RefusalEntriesPerMinute must not be negative (is {options.RefusalEntriesPerMinute})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{AuditOptions.SectionName}:{p}"));
    }
}
