using Microsoft.AspNetCore.Identity;

namespace IrisIde.Web.Accounts;

/// <summary>
/// The global roles. They are seeded by the migrations (fixed ids and stamps, so the model stays
/// deterministic), not at start-up: the admin commands find them in a database nothing has served yet.
/// </summary>
public static class IrisRoles
{
    public const string Student = "Student";

    public const string Instructor = "Instructor";

    public const string Admin = "Admin";

    public static readonly IReadOnlyList<string> All = [Student, Instructor, Admin];

    /// <summary>The role spelled as on the command line or in a form (<c>student</c>, <c>Admin</c>, ...); null if none.</summary>
    public static string? Parse(string? value) =>
        All.FirstOrDefault(r => string.Equals(r, value?.Trim(), StringComparison.OrdinalIgnoreCase));

    internal static IEnumerable<IdentityRole> Seed() => All.Select(r => new IdentityRole(r)
    {
        Id = r.ToLowerInvariant(),
        NormalizedName = r.ToUpperInvariant(),
        ConcurrencyStamp = $"seed-{r.ToLowerInvariant()}",
    });
}
