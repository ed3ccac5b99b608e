using IrisIde.Web.Audit;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace IrisIde.Web.Accounts.Oidc;

/// <summary>
/// Single sign-on with an OpenID Connect provider, beside local accounts. The flow:
/// the sign-in page's button POSTs <see cref="StartPath"/> (anti-forgery checked) → the provider (code flow
/// with PKCE) → <see cref="CallbackPath"/>, where the handler checks state, nonce and the ID token and puts
/// the claims into Identity's short-lived external cookie → <see cref="DonePath"/>, where
/// <see cref="OidcAccountLinker"/> finds or makes the account and issues the ordinary sign-in cookie.
/// Every failure lands on the sign-in page with <c>?sso=</c> and a fixed message.
/// </summary>
public static class OidcSignIn
{
    public const string Scheme = "oidc";

    public const string StartPath = "/account/signin/oidc";

    public const string DonePath = "/account/signin/oidc/done";

    /// <summary>The signed-in user's single sign-on page: link or unlink the account.</summary>
    public const string AccountPath = "/account/sso";

    /// <summary>The link button's POST (anti-forgery checked, signed-in users only).</summary>
    public const string LinkPath = "/account/sso/link";

    /// <summary>Where the provider's answer lands when linking.</summary>
    public const string LinkDonePath = "/account/sso/link/done";

    /// <summary>The redirect URI to register at the provider is this path on the app's public address.</summary>
    public const string CallbackPath = "/signin-oidc";

    private static readonly string[] StandardScopes = ["openid", "profile", "email"];

    /// <summary>Registers the options (validated at start) and, when an authority is configured, the OpenID Connect handler.</summary>
    public static IServiceCollection AddOidcSignIn(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(OidcOptions.SectionName);
        services.AddOptions<OidcOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OidcOptions>, OidcOptionsValidator>());
        services.TryAddScoped<OidcAccountLinker>();
        services.TryAddScoped<OidcAccountLink>();
        if (string.IsNullOrWhiteSpace(section[nameof(OidcOptions.Authority)]))
        {
            return services;
        }

        services.AddAuthentication().AddOpenIdConnect(Scheme, section[nameof(OidcOptions.DisplayName)] ?? new OidcOptions().DisplayName, static _ => { });
        services.AddOptions<OpenIdConnectOptions>(Scheme).Configure<IOptions<OidcOptions>>(static (oidc, options) => Configure(oidc, options.Value));
        return services;
    }

    private static void Configure(OpenIdConnectOptions oidc, OidcOptions settings)
    {
        oidc.Authority = settings.Authority;
        // The validator allows http only on loopback or with AllowHttpAuthority.
        oidc.RequireHttpsMetadata = !settings.IsHttpAuthority;
        oidc.ClientId = settings.ClientId;
        oidc.ClientSecret = settings.ClientSecret;
        oidc.ResponseType = OpenIdConnectResponseType.Code;
        // The code comes back in the query of a top-level GET, so the correlation and nonce cookies can be
        // SameSite=Lax and still reach us from a provider on another site (a form_post from there is a
        // cross-site POST, which needs SameSite=None, which browsers drop on plain http). The code is
        // single-use and bound to our PKCE verifier, so seeing it in a URL gains nothing.
        oidc.ResponseMode = OpenIdConnectResponseMode.Query;
        oidc.UsePkce = true;
        oidc.PushedAuthorizationBehavior = PushedAuthorizationBehavior.Disable;
        oidc.CallbackPath = CallbackPath;
        oidc.SignInScheme = IdentityConstants.ExternalScheme;
        oidc.Scope.Clear();
        foreach (var scope in StandardScopes.Concat(settings.AdditionalScopes).Distinct(StringComparer.Ordinal))
        {
            oidc.Scope.Add(scope);
        }

        // Claims as the provider names them (sub, email, the role claim), not mapped to .NET's long URIs;
        // the issuer is kept because accounts are linked by issuer and subject.
        oidc.MapInboundClaims = false;
        oidc.ClaimActions.Remove("iss");
        oidc.GetClaimsFromUserInfoEndpoint = false;
        oidc.SaveTokens = false;
        oidc.TokenValidationParameters.NameClaimType = "name";
        oidc.TokenValidationParameters.RoleClaimType = settings.RoleClaim;
        // No MaxAge: some providers (glewlwyd) always send auth_time 0, which would fail every sign-in.
        oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
        oidc.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        oidc.NonceCookie.SameSite = SameSiteMode.Lax;
        oidc.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
        oidc.Events.OnRemoteFailure = static context =>
        {
            // A forged or replayed callback, a refusal at the provider, an unreachable provider: the sign-in
            // page says so; nobody is signed in. The provider's own text is kept out of the page.
            var logger = context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OidcSignIn));
            AccountsLog.OidcRemoteFailure(logger, context.Failure?.GetType().Name ?? "none", Printable(context.Failure?.Message));
            // Anyone can send forged callbacks at any rate: counted, not always kept.
            context.HttpContext.RequestServices.GetRequiredService<AuditRecorder>()
                .RecordRefusal(AuditActions.SsoCallbackFailed, null, context.Failure?.GetType().Name ?? "refused");
            context.Response.Redirect(context.Properties?.Items.ContainsKey(OidcAccountLink.UserItem) == true
                ? AccountPageFor(OidcLinkOutcome.Failed)
                : SignInPageFor(OidcSignInOutcome.Failed));
            context.HandleResponse();
            return Task.CompletedTask;
        };
    }

    /// <summary>The button's POST and the landing after the provider; nothing is mapped while single sign-on is off.</summary>
    public static IEndpointRouteBuilder MapOidcSignIn(this IEndpointRouteBuilder endpoints)
    {
        if (!endpoints.ServiceProvider.GetRequiredService<IOptions<OidcOptions>>().Value.Enabled)
        {
            return endpoints;
        }

        // A form with an anti-forgery token, like sign-out: another site cannot start a sign-in in the user's browser.
        endpoints.MapPost(StartPath, static async ([FromForm] string? returnUrl, HttpContext context, ILoggerFactory loggers) =>
        {
            var done = $"{DonePath}?returnUrl={Uri.EscapeDataString(LocalUrl.OrRoot(returnUrl))}";
            try
            {
                // The provider's discovery document is fetched here the first time (and again when stale).
                await context.ChallengeAsync(Scheme, new AuthenticationProperties { RedirectUri = done });
                return Results.Empty;
            }
            catch (InvalidOperationException e) when (!context.Response.HasStarted)
            {
                // Unreachable or misconfigured provider: a message on the sign-in page instead of a 500.
                AccountsLog.OidcProviderUnavailable(loggers.CreateLogger(typeof(OidcSignIn)), e);
                return TypedResults.LocalRedirect(SignInPageFor(OidcSignInOutcome.Unavailable));
            }
        });

        endpoints.MapGet(DonePath, static async (string? returnUrl, HttpContext context, OidcAccountLinker linker, CancellationToken cancellationToken) =>
        {
            var external = await context.AuthenticateAsync(IdentityConstants.ExternalScheme);
            // The external cookie has served its purpose whatever happens next.
            await context.SignOutAsync(IdentityConstants.ExternalScheme);
            if (!external.Succeeded || external.Principal is null)
            {
                return TypedResults.LocalRedirect(SignInPageFor(OidcSignInOutcome.Failed));
            }

            var outcome = await linker.SignInAsync(external.Principal, cancellationToken);
            return TypedResults.LocalRedirect(outcome == OidcSignInOutcome.SignedIn ? LocalUrl.OrRoot(returnUrl) : SignInPageFor(outcome));
        });
        MapLink(endpoints);
        return endpoints;
    }

    private static void MapLink(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(LinkPath, static async (HttpContext context, UserManager<IrisUser> users, IAntiforgery antiforgery, ILoggerFactory loggers) =>
        {
            // Checked here: the endpoint binds no form, so nothing else would. Another site must not be able to
            // link an identity of its choosing to the account of a user who happens to be signed in.
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.BadRequest();
            }

            if (users.GetUserId(context.User) is not { } userId)
            {
                return Results.Challenge();
            }

            var properties = new AuthenticationProperties { RedirectUri = LinkDonePath };
            properties.Items[OidcAccountLink.UserItem] = userId;
            try
            {
                await context.ChallengeAsync(Scheme, properties);
                return Results.Empty;
            }
            catch (InvalidOperationException e) when (!context.Response.HasStarted)
            {
                AccountsLog.OidcProviderUnavailable(loggers.CreateLogger(typeof(OidcSignIn)), e);
                return TypedResults.LocalRedirect(AccountPageFor(OidcLinkOutcome.Unavailable));
            }
        }).RequireAuthorization();

        endpoints.MapGet(LinkDonePath, static async (HttpContext context, UserManager<IrisUser> users, OidcAccountLink link, CancellationToken cancellationToken) =>
        {
            var external = await context.AuthenticateAsync(IdentityConstants.ExternalScheme);
            await context.SignOutAsync(IdentityConstants.ExternalScheme);
            if (!external.Succeeded || external.Principal is null || await users.GetUserAsync(context.User) is not { } user)
            {
                return TypedResults.LocalRedirect(AccountPageFor(OidcLinkOutcome.Failed));
            }

            var flowUser = external.Properties?.Items.TryGetValue(OidcAccountLink.UserItem, out var id) == true ? id : null;
            var outcome = await link.LinkAsync(user, external.Principal, flowUser, cancellationToken);
            return TypedResults.LocalRedirect(AccountPageFor(outcome));
        }).RequireAuthorization();
    }

    /// <summary>The single sign-on page with the message for <paramref name="outcome"/>.</summary>
    public static string AccountPageFor(OidcLinkOutcome outcome) =>
        $"{AccountPath}?link={outcome.ToString().ToLowerInvariant()}";

    /// <summary>The sign-in page with the message for <paramref name="outcome"/>.</summary>
    public static string SignInPageFor(OidcSignInOutcome outcome) =>
        $"{AccountsExtensions.SignInPath}?sso={outcome.ToString().ToLowerInvariant()}";

    /// <summary>The sign-in page's text for <c>?sso=</c>; null for anything else (nothing of the query is shown).</summary>
    public static string? MessageFor(string? sso) => sso?.ToLowerInvariant() switch
    {
        "unavailable" => "The single sign-on provider cannot be reached right now. Try again later, or sign in with your email and password.",
        "failed" => "Single sign-on did not complete. Try again, or sign in with your email and password.",
        "refused" => "Single sign-on worked, but this account is disabled or locked here.",
        "norole" => "Single sign-on worked, but your account there has no role that may use this site.",
        "emailtaken" => "An account with your email already exists here and is not linked to single sign-on: sign in with its password, or ask an admin.",
        _ => null,
    };

    private static string Printable(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        var clean = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray());
        return clean.Length <= 300 ? clean : clean[..300];
    }
}
