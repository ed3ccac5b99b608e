using Microsoft.Extensions.Options;

namespace IrisIde.Web.Courses;

/// <summary>Course rules. Section <c>Iris:Courses</c>.</summary>
public sealed class CoursesOptions
{
    public const string SectionName = "Iris:Courses";

    /// <summary>
    /// Unknown join codes one user may type per <see cref="JoinLockoutMinutes"/> before their joins are refused
    /// (valid codes too) until the oldest of them is that old: codes cannot be guessed, but a student should not
    /// be able to script trying them, and a typo-prone one still gets plenty of tries.
    /// </summary>
    public int MaxFailedJoinsPerUser { get; set; } = 10;

    /// <summary>The window the failed joins are counted in, in minutes (sliding).</summary>
    public int JoinLockoutMinutes { get; set; } = 15;
}

internal sealed class CoursesOptionsValidator : IValidateOptions<CoursesOptions>
{
    public ValidateOptionsResult Validate(string? name, CoursesOptions options)
    {
        var problems = new List<string>();
        if (options.MaxFailedJoinsPerUser is < 1 or > 1000)
        {
            problems.Add($"MaxFailedJoinsPerUser must be between 1 and 1000 (is {options.MaxFailedJoinsPerUser})");
        }

        if (options.JoinLockoutMinutes is < 1 or > 1440)
        {
            problems.Add($"JoinLockoutMinutes must be between 1 and 1440 (is {options.JoinLockoutMinutes})");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{CoursesOptions.SectionName}:{p}"));
    }
}
