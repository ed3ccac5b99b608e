namespace IrisIde.Web.Accounts.Oidc;

/// <summary>From the provider's role or group claim values to one of our roles.</summary>
public static class OidcRoleMap
{
    /// <summary>
    /// The strongest role any of <paramref name="claimValues"/> maps to; when none maps, the default role
    /// (never Admin, see <see cref="OidcOptionsValidator"/>), or null when the default is <c>None</c> (refuse).
    /// </summary>
    public static string? RoleFor(IEnumerable<string> claimValues, OidcOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var mapped = claimValues
            .Select(value => options.RoleMap.TryGetValue(value, out var role) ? IrisRoles.Parse(role) : null)
            .OfType<string>()
            .OrderByDescending(Strength)
            .FirstOrDefault();
        if (mapped is not null)
        {
            return mapped;
        }

        return IrisRoles.Parse(options.DefaultRole) is { } fallback && fallback != IrisRoles.Admin ? fallback : null;
    }

    private static int Strength(string role) => role switch
    {
        IrisRoles.Admin => 3,
        IrisRoles.Instructor => 2,
        _ => 1,
    };
}
