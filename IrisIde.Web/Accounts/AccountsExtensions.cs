using IrisIde.Web.Accounts.Oidc;
using IrisIde.Web.Persistence;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Endpoints;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts;

/// <summary>Local accounts: ASP.NET Core Identity in our database, the sign-in cookie, the first-start set-up link.</summary>
public static class AccountsExtensions
{
    public const string SignInPath = "/account/signin";

    public const string SignOutPath = "/account/signout";

    public const string ChangePasswordPath = "/account/password";

    public const string DeniedPath = "/account/denied";

    /// <summary>Identity's stores, the rules of <see cref="AccountsOptions"/>, and the user administration the admin page and commands share. Needs the database (<c>AddIrisPersistence</c>).</summary>
    public static IdentityBuilder AddAccountsCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccountsOptions>()
            .Bind(configuration.GetSection(AccountsOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AccountsOptions>, AccountsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddScoped<UserAdministration>();
        services.AddOptions<IdentityOptions>().Configure<IOptions<AccountsOptions>>((identity, accounts) =>
        {
            var rules = accounts.Value;
            identity.User.RequireUniqueEmail = true;
            // NIST SP 800-63B: length, not composition rules.
            identity.Password.RequiredLength = rules.MinPasswordLength;
            identity.Password.RequireDigit = false;
            identity.Password.RequireLowercase = false;
            identity.Password.RequireUppercase = false;
            identity.Password.RequireNonAlphanumeric = false;
            identity.Password.RequiredUniqueChars = 4;
            identity.Lockout.AllowedForNewUsers = true;
            identity.Lockout.MaxFailedAccessAttempts = rules.MaxFailedSignIns;
            identity.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(rules.LockoutMinutes);
        });
        return services.AddIdentityCore<IrisUser>()
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<IrisDbContext>();
    }

    /// <summary>Everything of <see cref="AddAccountsCore"/> plus sign-in: the cookie, the security stamp check, authorization, the set-up link.</summary>
    public static IServiceCollection AddAccounts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAccountsCore(configuration)
            .AddSignInManager<IrisSignInManager>()
            .AddClaimsPrincipalFactory<IrisClaimsPrincipalFactory>();
        services.AddAuthentication(options =>
        {
            options.DefaultScheme = IdentityConstants.ApplicationScheme;
            options.DefaultSignInScheme = IdentityConstants.ApplicationScheme;
        }).AddIdentityCookies();
        services.AddOptions<CookieAuthenticationOptions>(IdentityConstants.ApplicationScheme).Configure<IOptions<AccountsOptions>>((cookie, accounts) =>
        {
            cookie.Cookie.Name = "iris.session";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            cookie.ExpireTimeSpan = TimeSpan.FromHours(accounts.Value.SessionHours);
            cookie.SlidingExpiration = true;
            cookie.LoginPath = SignInPath;
            cookie.LogoutPath = SignOutPath;
            cookie.AccessDeniedPath = DeniedPath;
            cookie.ReturnUrlParameter = "returnUrl";
        });
        services.AddOptions<SecurityStampValidatorOptions>().Configure<IOptions<AccountsOptions>>((validator, accounts) =>
            validator.ValidationInterval = TimeSpan.FromSeconds(accounts.Value.SessionRecheckSeconds));
        // Cookies and anti-forgery tokens are sealed with the Data Protection key ring: kept in the database,
        // every replica and every restart can read them (the default, a folder in the home directory, is
        // neither shared nor, in a container, kept). Whoever can read the database can read the keys.
        services.AddDataProtection()
            .SetApplicationName("IrisIde")
            .PersistKeysToDbContext<IrisDbContext>();
        services.AddAntiforgery(options =>
        {
            options.Cookie.Name = "iris.antiforgery";
            options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        });
        services.AddAuthorization();
        services.AddCascadingAuthenticationState();
        services.AddOidcSignIn(configuration);
        services.TryAddSingleton<AdminSetup>();
        services.TryAddSingleton<SignInThrottle>();
        // After the database migrator (registered by AddBatchRuns before this), so the users table exists.
        services.AddHostedService<AdminSetupAnnouncer>();
        return services;
    }

    /// <summary>
    /// Authentication and authorization, then: a user who still has a one-time password is sent to change it
    /// before any page that is not marked <see cref="AllowedBeforePasswordChangeAttribute"/>.
    /// </summary>
    public static IApplicationBuilder UseAccounts(this IApplicationBuilder app)
    {
        app.UseAuthentication();
        app.UseAuthorization();
        return app.Use(static async (context, next) =>
        {
            if (context.User.HasClaim(c => c.Type == IrisClaimsPrincipalFactory.MustChangePasswordClaim)
                && context.GetEndpoint() is { } endpoint
                && endpoint.Metadata.GetMetadata<ComponentTypeMetadata>() is not null
                && endpoint.Metadata.GetMetadata<AllowedBeforePasswordChangeAttribute>() is null)
            {
                var returnUrl = LocalUrl.OrRoot(context.Request.Path + context.Request.QueryString);
                context.Response.Redirect($"{ChangePasswordPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
                return;
            }

            await next(context);
        });
    }

    /// <summary><c>POST /account/signout</c> (anti-forgery checked: it binds a form). The pages are Razor components.</summary>
    public static IEndpointConventionBuilder MapAccounts(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(SignOutPath, static async ([FromForm] string? returnUrl, SignInManager<IrisUser> signIn) =>
        {
            await signIn.SignOutAsync();
            return TypedResults.LocalRedirect(LocalUrl.OrRoot(returnUrl));
        });
}

/// <summary>A page a user who must replace a one-time password may still open (the change-password page, sign-in, sign-out).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class AllowedBeforePasswordChangeAttribute : Attribute;
