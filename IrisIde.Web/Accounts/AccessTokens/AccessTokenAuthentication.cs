using System.Security.Claims;
using System.Text.Encodings.Web;
using IrisIde.Web.Audit;
using IrisIde.Web.Hubs;
using IrisIde.Web.Metrics;
using IrisIde.Web.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts.AccessTokens;

public static class AccessTokenDefaults
{
    /// <summary>The authentication scheme of tokens; also the <see cref="ClaimsIdentity.AuthenticationType"/> of their users.</summary>
    public const string Scheme = "AccessToken";

    /// <summary>The default authenticate scheme: a token when the request carries one, else the sign-in cookie.</summary>
    public const string CookieOrToken = "CookieOrAccessToken";

    /// <summary>One claim per scope of the token.</summary>
    public const string ScopeClaim = "scope";

    public const string TokenIdClaim = "iris:access_token_id";

    /// <summary>The course a course token is bound to (its id); absent on personal tokens.</summary>
    public const string CourseClaim = "iris:course";

    /// <summary>The query parameter browsers (and SignalR's JS client) use on a WebSocket, which cannot carry headers.</summary>
    public const string QueryParameter = "access_token";
}

/// <summary>Where a request's token is: <c>Authorization: Bearer</c>, or the <c>access_token</c> query parameter taken out of the request.</summary>
internal static class AccessTokenRequest
{
    private static readonly object QueryTokenKey = new();

    /// <summary>Paths whose clients may send the token in the query: WebSockets, where a browser cannot set a header.</summary>
    private static readonly PathString[] QueryPaths = ["/ws", "/run", ExecutionHubEndpoints.Path];

    /// <summary>
    /// The surfaces a token opens: the run APIs. Not the pages: a token must not reach the tokens page, where it
    /// could mint a longer-lived or wider token, nor any other form.
    /// </summary>
    private static readonly PathString[] TokenPaths = [.. QueryPaths, "/run-code", "/results", "/api"];

    public static (string Token, bool FromQuery)? Presented(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        // /metrics reads its own bearer (the scrape token), which is no access token: left alone, not refused.
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && !context.Request.Path.StartsWithSegments(MetricsEndpoint.Path, StringComparison.OrdinalIgnoreCase))
        {
            return (authorization["Bearer ".Length..].Trim(), false);
        }

        return context.Items.TryGetValue(QueryTokenKey, out var token) && token is string fromQuery ? (fromQuery, true) : null;
    }

    public static bool AcceptsQueryToken(PathString path) =>
        QueryPaths.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    public static bool AcceptsToken(PathString path) =>
        TokenPaths.Any(p => path.StartsWithSegments(p, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Takes <c>access_token</c> out of the query string into the request's items, before anything sees the
    /// request: the hosting layer's "Request starting ..." log line, traces and our own logs are written from
    /// the query string, which then no longer holds the secret.
    /// </summary>
    public static void MoveQueryTokenToItems(HttpContext context)
    {
        var query = context.Request.QueryString;
        if (!query.HasValue || !query.Value!.Contains(AccessTokenDefaults.QueryParameter, StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var parsed = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(query.Value);
        if (!parsed.Remove(AccessTokenDefaults.QueryParameter, out var values))
        {
            return;
        }

        context.Items[QueryTokenKey] = values.ToString();
        var rest = QueryString.Create(parsed.SelectMany(p => p.Value.Select(v => new KeyValuePair<string, string?>(p.Key, v))));
        context.Request.QueryString = rest;
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>() is { } request)
        {
            request.RawTarget = context.Request.PathBase.Add(context.Request.Path).ToUriComponent() + rest.ToUriComponent();
        }
    }
}

/// <summary>
/// Creates each request's context as usual, then takes the access token out of its query string
/// (<see cref="AccessTokenRequest.MoveQueryTokenToItems"/>). The hosting layer logs a request right after
/// creating its context, before any middleware could do this.
/// </summary>
internal sealed class TokenRedactingHttpContextFactory(IServiceProvider services) : IHttpContextFactory
{
    private readonly DefaultHttpContextFactory _inner = new(services);

    public HttpContext Create(Microsoft.AspNetCore.Http.Features.IFeatureCollection featureCollection)
    {
        var context = _inner.Create(featureCollection);
        AccessTokenRequest.MoveQueryTokenToItems(context);
        return context;
    }

    public void Dispose(HttpContext httpContext) => _inner.Dispose(httpContext);
}

/// <summary>
/// Authenticates a request by its access token: the token's user, with the claims a cookie sign-in would give
/// them (id, email, role), plus one <c>scope</c> claim per scope. No token: no result (the cookie decides);
/// a bad token: a failure, which <see cref="AccessTokenExtensions.UseAccessTokens"/> turns into 401.
/// </summary>
internal sealed class AccessTokenAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    AccessTokenService tokens,
    IUserClaimsPrincipalFactory<IrisUser> principals,
    AuditRecorder audit)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (AccessTokenRequest.Presented(Context) is not { } found)
        {
            return AuthenticateResult.NoResult();
        }

        var (presented, fromQuery) = found;

        if (!AccessTokenRequest.AcceptsToken(Request.Path))
        {
            AccountsLog.AccessTokenRefused(Logger, "off the run APIs", Request.Path);
            RecordRefusal(presented, "off the run APIs");
            return AuthenticateResult.Fail("access tokens open the run APIs only (/ws, /run, the hub, /run-code, /results, /api); pages take a sign-in");
        }

        if (fromQuery && !AccessTokenRequest.AcceptsQueryToken(Request.Path))
        {
            AccountsLog.AccessTokenRefused(Logger, "in the query off a WebSocket path", Request.Path);
            RecordRefusal(presented, "in the query off a WebSocket path");
            return AuthenticateResult.Fail($"the {AccessTokenDefaults.QueryParameter} query parameter is only accepted on /ws, /run and {ExecutionHubEndpoints.Path}; send the header Authorization: Bearer <token>");
        }

        var (grant, refusal) = await tokens.CheckAsync(presented, Context.RequestAborted);
        if (grant is null)
        {
            AccountsLog.AccessTokenRefused(Logger, refusal!, Request.Path);
            RecordRefusal(presented, refusal!);
            // One answer for every reason: a client learns nothing about tokens that are not its own.
            return AuthenticateResult.Fail("the access token is invalid, expired or revoked, or its user is disabled");
        }

        var signedIn = await principals.CreateAsync(grant.User);
        var claims = signedIn.Claims.ToList();
        claims.AddRange(grant.Token.ScopeList.Select(s => new Claim(AccessTokenDefaults.ScopeClaim, s)));
        claims.Add(new Claim(AccessTokenDefaults.TokenIdClaim, grant.Token.Id.ToString()));
        if (grant.Token.CourseId is { } courseId)
        {
            claims.Add(new Claim(AccessTokenDefaults.CourseClaim, courseId.ToString()));
        }
        var identity = new ClaimsIdentity(claims, Scheme.Name, ClaimTypes.Name, ClaimTypes.Role);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
    }

    /// <summary>Counted, not always kept (a script can try tokens at any rate); the token's id names it, never the token.</summary>
    private void RecordRefusal(string presented, string reason) =>
        audit.RecordRefusal(AuditActions.TokenRefused, AccessTokenService.IdOf(presented) is { } id ? $"token {id:N}" : null, $"{reason} on {Request.Path}");

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
        return Task.CompletedTask;
    }
}

public static class AccessTokenExtensions
{
    /// <summary>
    /// Personal access tokens: the service, the authentication scheme (a token wins over the cookie when a
    /// request carries one) and the query-string redaction. Needs <c>AddAccounts</c>.
    /// </summary>
    public static IServiceCollection AddAccessTokens(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddAccessTokensCore(configuration);
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AccessTokenAuthenticationHandler>(AccessTokenDefaults.Scheme, null)
            .AddPolicyScheme(AccessTokenDefaults.CookieOrToken, null, policy => policy.ForwardDefaultSelector = context =>
                AccessTokenRequest.Presented(context) is null ? IdentityConstants.ApplicationScheme : AccessTokenDefaults.Scheme);
        // Only authentication goes through the policy: sign-in, sign-out and the challenge of pages stay the cookie's.
        services.Configure<AuthenticationOptions>(options => options.DefaultAuthenticateScheme = AccessTokenDefaults.CookieOrToken);
        services.AddSingleton<IHttpContextFactory, TokenRedactingHttpContextFactory>();
        return services;
    }

    /// <summary>The token service and its options, for hosts without sign-in (the <c>admin</c> commands).</summary>
    public static IServiceCollection AddAccessTokensCore(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AccessTokenOptions>()
            .Bind(configuration.GetSection(AccessTokenOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccessTokenOptions>, AccessTokenOptionsValidator>();
        services.AddScoped<AccessTokenService>();
        return services;
    }

    /// <summary>
    /// Before authentication and authorization: a request with a bad token is answered 401 at once — never
    /// treated as anonymous, which would let a client with a revoked token carry on where anonymous runs are on.
    /// A token without the <c>runs</c> scope may not open the execution hub (it has nothing else to offer): 403.
    /// </summary>
    public static IApplicationBuilder UseAccessTokens(this IApplicationBuilder app) =>
        app.Use(static async (context, next) =>
        {
            if (AccessTokenRequest.Presented(context) is not null)
            {
                var result = await context.AuthenticateAsync(AccessTokenDefaults.Scheme);
                if (!result.Succeeded)
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                    await TypedResults.Problem(
                        statusCode: StatusCodes.Status401Unauthorized,
                        title: "Invalid access token",
                        detail: result.Failure?.Message ?? "the access token was not accepted").ExecuteAsync(context);
                    return;
                }

                if (context.Request.Path.StartsWithSegments(ExecutionHubEndpoints.Path, StringComparison.OrdinalIgnoreCase)
                    && !RunAccess.HasScope(result.Principal, AccessTokenScopes.Runs))
                {
                    await RunAccess.MissingScope(AccessTokenScopes.Runs).ExecuteAsync(context);
                    return;
                }
            }

            await next(context);
        });
}
