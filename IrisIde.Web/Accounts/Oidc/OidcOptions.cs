using System.Net;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.Oidc;

/// <summary>Single sign-on through an OpenID Connect provider. Section <c>Iris:Auth:Oidc</c>; off while <see cref="Authority"/> is empty.</summary>
public sealed class OidcOptions
{
    public const string SectionName = "Iris:Auth:Oidc";

    /// <summary>The value of <see cref="DefaultRole"/> that refuses users whose claims map to no role.</summary>
    public const string DenyRole = "None";

    /// <summary>The provider's issuer URL (its discovery document is <c>{Authority}/.well-known/openid-configuration</c>).</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    public string? ClientSecret { get; set; }

    /// <summary>The provider's name on the sign-in page's button: "Sign in with {DisplayName}".</summary>
    public string DisplayName { get; set; } = "single sign-on";

    /// <summary>The ID token claim whose values (one or many) are looked up in <see cref="RoleMap"/>.</summary>
    public string RoleClaim { get; set; } = "groups";

    /// <summary>
    /// Claim value → role (Student, Instructor, Admin), matched exactly (ordinal). When several values map,
    /// the strongest role wins. Admin is granted only through an entry here.
    /// </summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The role of a user none of whose claim values is in <see cref="RoleMap"/>: Student or Instructor, or <c>None</c> to refuse the sign-in.</summary>
    public string DefaultRole { get; set; } = IrisRoles.Student;

    /// <summary>
    /// Allows an <c>http:</c> authority that is not on a loopback address. Tokens and the client secret then
    /// cross the network in clear: only for a provider reached over a private, trusted link.
    /// </summary>
    public bool AllowHttpAuthority { get; set; }

    /// <summary>Scopes asked for besides <c>openid profile email</c> (some providers put groups behind a scope of their own).</summary>
    public List<string> AdditionalScopes { get; set; } = [];

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    /// <summary>Whether the provider is reached over plain http, which is allowed for loopback or by <see cref="AllowHttpAuthority"/>.</summary>
    public bool IsHttpAuthority =>
        Uri.TryCreate(Authority, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp;

    internal static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}

internal sealed class OidcOptionsValidator : IValidateOptions<OidcOptions>
{
    public ValidateOptionsResult Validate(string? name, OidcOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        if (!Uri.TryCreate(options.Authority, UriKind.Absolute, out var authority) || (authority.Scheme != Uri.UriSchemeHttps && authority.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add($"Authority must be an absolute https URL (is '{options.Authority}')");
        }
        else if (authority.Scheme == Uri.UriSchemeHttp && !OidcOptions.IsLoopback(authority) && !options.AllowHttpAuthority)
        {
            problems.Add($"Authority '{options.Authority}' is plain http on another host: use https, or set AllowHttpAuthority=true for a trusted private link");
        }

        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            problems.Add("ClientId is required when Authority is set");
        }

        if (string.IsNullOrWhiteSpace(options.ClientSecret))
        {
            problems.Add("ClientSecret is required when Authority is set");
        }

        if (string.IsNullOrWhiteSpace(options.RoleClaim))
        {
            problems.Add("RoleClaim must name a claim");
        }

        foreach (var (value, role) in options.RoleMap)
        {
            if (IrisRoles.Parse(role) is null)
            {
                problems.Add($"RoleMap:{value} must be Student, Instructor or Admin (is '{role}')");
            }
        }

        if (!string.Equals(options.DefaultRole, OidcOptions.DenyRole, StringComparison.OrdinalIgnoreCase))
        {
            var role = IrisRoles.Parse(options.DefaultRole);
            if (role is null)
            {
                problems.Add($"DefaultRole must be Student, Instructor or None (is '{options.DefaultRole}')");
            }
            else if (role == IrisRoles.Admin)
            {
                // Everyone the provider knows would be an admin here.
                problems.Add("DefaultRole cannot be Admin: map the provider's admin group in RoleMap instead");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems.Select(p => $"{OidcOptions.SectionName}:{p}"));
    }
}
