using IrisIde.Web.Accounts;
using IrisIde.Web.Accounts.Oidc;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Accounts.Oidc;

/// <summary>The role map and the start-up checks of <c>Iris:Auth:Oidc</c>, bound from configuration like the app does.</summary>
public sealed class OidcOptionsTests
{
    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Iris:Auth:Oidc:Authority"] = "https://login.example.edu/realms/school",
        ["Iris:Auth:Oidc:ClientId"] = "iris",
        ["Iris:Auth:Oidc:ClientSecret"] = "secret",
        ["Iris:Auth:Oidc:RoleMap:staff"] = "Instructor",
        ["Iris:Auth:Oidc:RoleMap:it-admins"] = "admin",
    };

    [Fact]
    public void The_strongest_mapped_role_wins_and_unmapped_values_fall_back_to_the_default()
    {
        var options = Bind(Valid);

        Assert.Equal(IrisRoles.Admin, OidcRoleMap.RoleFor(["students", "it-admins", "staff"], options));
        Assert.Equal(IrisRoles.Instructor, OidcRoleMap.RoleFor(["staff"], options));
        Assert.Equal(IrisRoles.Student, OidcRoleMap.RoleFor(["IT-ADMINS", "anything"], options));
        Assert.Equal(IrisRoles.Student, OidcRoleMap.RoleFor([], options));
    }

    [Fact]
    public void A_default_role_of_none_refuses_users_nothing_maps()
    {
        var options = Bind(new(Valid) { ["Iris:Auth:Oidc:DefaultRole"] = "None" });

        Assert.Null(OidcRoleMap.RoleFor(["students"], options));
        Assert.Equal(IrisRoles.Instructor, OidcRoleMap.RoleFor(["staff"], options));
    }

    [Fact]
    public void Single_sign_on_is_off_without_an_authority_and_then_needs_nothing_else()
    {
        Assert.False(Bind([]).Enabled);
        Assert.True(Validate([]).Succeeded);
    }

    [Theory]
    [InlineData("DefaultRole", "Admin", "DefaultRole cannot be Admin")]
    [InlineData("DefaultRole", "Teacher", "DefaultRole must be Student, Instructor or None")]
    [InlineData("RoleMap:staff", "Superuser", "RoleMap:staff must be Student, Instructor or Admin")]
    [InlineData("ClientSecret", "", "ClientSecret is required")]
    [InlineData("Authority", "http://login.example.edu/", "plain http on another host")]
    [InlineData("Authority", "login.example.edu", "must be an absolute https URL")]
    public void Unsafe_or_incomplete_settings_stop_the_start(string key, string value, string problem)
    {
        var result = Validate(new(Valid) { [$"Iris:Auth:Oidc:{key}"] = value });

        Assert.True(result.Failed);
        Assert.Contains(problem, result.FailureMessage, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5701/api/oidc", false)]
    [InlineData("http://localhost:8080/", false)]
    [InlineData("http://[::1]:8080/", false)]
    [InlineData("http://idp.internal/", true)]
    public void Plain_http_is_allowed_on_loopback_or_when_a_setting_says_so(string authority, bool needsSetting)
    {
        var settings = new Dictionary<string, string?>(Valid) { ["Iris:Auth:Oidc:Authority"] = authority };
        Assert.Equal(!needsSetting, Validate(settings).Succeeded);
        settings["Iris:Auth:Oidc:AllowHttpAuthority"] = "true";
        Assert.True(Validate(settings).Succeeded);
        Assert.True(Bind(settings).IsHttpAuthority);
    }

    private static OidcOptions Bind(Dictionary<string, string?> settings) => Provider(settings).GetRequiredService<IOptions<OidcOptions>>().Value;

    private static ValidateOptionsResult Validate(Dictionary<string, string?> settings) =>
        new OidcOptionsValidator().Validate(null, Bind(settings));

    private static ServiceProvider Provider(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        // Only the options: Bind skips validation, which the tests call themselves.
        services.AddOptions<OidcOptions>().Bind(configuration.GetSection(OidcOptions.SectionName));
        return services.BuildServiceProvider();
    }
}
