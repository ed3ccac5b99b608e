using System.Net;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using IrisIde.Web.Components.Account;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts;

/// <summary>Sign-in, sign-out and change password over HTTP against the real app (SQLite), attacks included.</summary>
public sealed class SignInTests(AccountsAppFixture fixture) : IClassFixture<AccountsAppFixture>
{
    private IrisWebApp App => fixture.App;

    [Fact]
    public async Task A_user_signs_in_is_shown_in_the_layout_and_signs_out_with_a_post()
    {
        var email = TestAccounts.NewEmail("ann");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);

        using (var signIn = await client.SignInAsync(email, TestAccounts.Password))
        {
            Assert.Equal(HttpStatusCode.Found, signIn.StatusCode);
            Assert.Equal("/", client.Target(signIn));
        }

        var (status, ide) = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(email, ide, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"sign-out\"", ide, StringComparison.Ordinal);

        using (var signOut = await client.PostFormAsync(AccountsExtensions.SignOutPath, "", [new("returnUrl", "/")], tokenFrom: AccountsExtensions.ChangePasswordPath))
        {
            Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        }

        Assert.Null(client.SessionCookie);
        var (_, after) = await client.GetAsync("/");
        Assert.DoesNotContain(email, after, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"sign-in-link\"", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_email_wrong_password_and_disabled_account_get_the_same_answer()
    {
        var known = TestAccounts.NewEmail("known");
        var disabled = TestAccounts.NewEmail("disabled");
        await TestAccounts.AddAsync(App, known, IrisRoles.Student);
        var disabledUser = await TestAccounts.AddAsync(App, disabled, IrisRoles.Student);
        await TestAccounts.WithAdministrationAsync(App, a => a.SetDisabledAsync(disabledUser.Id, true, CancellationToken.None));
        using var client = new AccountTestClient(App.BaseAddress);

        var answers = new List<(HttpStatusCode, string)>();
        foreach (var (email, password) in new[] { (TestAccounts.NewEmail("nobody"), TestAccounts.Password), (known, "wrong password here"), (disabled, TestAccounts.Password) })
        {
            using var response = await client.SignInAsync(email, password);
            var body = await AccountTestClient.BodyAsync(response);
            answers.Add((response.StatusCode, ErrorOf(body)));
            Assert.Null(client.SessionCookie);
            Assert.DoesNotContain(password, body, StringComparison.Ordinal);
        }

        Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, SignIn.FailedMessage), a));
    }

    [Fact]
    public async Task Repeated_wrong_passwords_lock_the_account_so_even_the_right_password_fails()
    {
        var email = TestAccounts.NewEmail("target");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);

        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var wrong = await client.SignInAsync(email, $"guess number {attempt}");
            Assert.Equal(SignIn.FailedMessage, ErrorOf(await AccountTestClient.BodyAsync(wrong)));
        }

        using var right = await client.SignInAsync(email, TestAccounts.Password);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(SignIn.FailedMessage, ErrorOf(await AccountTestClient.BodyAsync(right)));
        Assert.Null(client.SessionCookie);
        var summary = Assert.Single(await TestAccounts.WithAdministrationAsync(App, a => a.ListAsync(CancellationToken.None)), u => u.Email == email);
        Assert.True(summary.IsLockedOut);
    }

    [Fact]
    public async Task An_address_that_fails_too_often_is_refused_for_every_account_while_others_still_sign_in()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:MaxFailedSignInsPerAddress"] = "3",
            ["Iris:Security:TrustedProxies:0"] = "127.0.0.1",
        });
        var email = TestAccounts.NewEmail("sprayed");
        await TestAccounts.AddAsync(app, email, IrisRoles.Student);
        using var sprayer = new AccountTestClient(app.BaseAddress);
        sprayer.Http.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.66");

        // One guess at each of three accounts: no account is locked, the address is spent.
        for (var i = 0; i < 3; i++)
        {
            using var guess = await sprayer.SignInAsync(TestAccounts.NewEmail($"sprayed-{i}"), "Password123!");
            Assert.Equal(SignIn.FailedMessage, ErrorOf(await AccountTestClient.BodyAsync(guess)));
        }

        using (var refused = await sprayer.SignInAsync(email, TestAccounts.Password))
        {
            Assert.Equal(SignIn.ThrottledMessage, ErrorOf(await AccountTestClient.BodyAsync(refused)));
            Assert.Null(sprayer.SessionCookie);
        }

        using var elsewhere = new AccountTestClient(app.BaseAddress);
        elsewhere.Http.DefaultRequestHeaders.Add("X-Forwarded-For", "203.0.113.67");
        await elsewhere.SignInOrFailAsync(email, TestAccounts.Password);
    }

    [Theory]
    [InlineData("https://evil.example/")]
    [InlineData("//evil.example/")]
    [InlineData("/\\evil.example/")]
    [InlineData("javascript:alert(1)")]
    [InlineData("evil.example")]
    public async Task Sign_in_never_redirects_off_the_site(string returnUrl)
    {
        var email = TestAccounts.NewEmail("redirect");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);

        using var response = await client.SignInAsync(email, TestAccounts.Password, returnUrl);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal("/", client.Target(response));
    }

    [Fact]
    public async Task Sign_in_follows_a_local_return_url()
    {
        var email = TestAccounts.NewEmail("local");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);

        using var response = await client.SignInAsync(email, TestAccounts.Password, "/account/password?x=1");

        Assert.Equal("/account/password?x=1", client.Target(response));
    }

    [Fact]
    public async Task Sign_in_replaces_a_planted_session_cookie_and_each_sign_in_gets_a_new_one()
    {
        var email = TestAccounts.NewEmail("fixation");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);
        client.Cookies.Add(App.BaseAddress, new Cookie("iris.session", "planted-by-an-attacker"));

        await client.SignInOrFailAsync(email, TestAccounts.Password);
        var first = client.SessionCookie;
        await client.SignInOrFailAsync(email, TestAccounts.Password);

        Assert.NotEqual("planted-by-an-attacker", first);
        Assert.NotEqual(first, client.SessionCookie);
    }

    [Fact]
    public async Task The_session_cookie_is_http_only_and_lax_and_secure_when_the_request_was_https()
    {
        var email = TestAccounts.NewEmail("cookie");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        await using var behindProxy = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Security:TrustedProxies:0"] = "127.0.0.1",
        });
        await TestAccounts.AddAsync(behindProxy, email, IrisRoles.Student);

        var plain = await SessionSetCookieAsync(App, email, https: false);
        var secure = await SessionSetCookieAsync(behindProxy, email, https: true);

        Assert.Contains("httponly", plain, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", plain, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", plain, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", secure, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("samesite=lax", secure, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("secure", secure, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Every_form_refuses_a_post_without_the_anti_forgery_token()
    {
        var email = TestAccounts.NewEmail("csrf");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var attacker = new AccountTestClient(App.BaseAddress);
        using (var signIn = await attacker.PostFormAsync(AccountsExtensions.SignInPath, "signin", [new("Input.Email", email), new("Input.Password", TestAccounts.Password)], withAntiforgery: false))
        {
            Assert.Equal(HttpStatusCode.BadRequest, signIn.StatusCode);
            Assert.Null(attacker.SessionCookie);
        }

        using var victim = new AccountTestClient(App.BaseAddress);
        await victim.SignInOrFailAsync(email, TestAccounts.Password);
        const string NewPassword = "changed by a forged form";
        using (var change = await victim.PostFormAsync(AccountsExtensions.ChangePasswordPath, "change-password",
            [new("Input.CurrentPassword", TestAccounts.Password), new("Input.NewPassword", NewPassword), new("Input.ConfirmPassword", NewPassword)], withAntiforgery: false))
        {
            Assert.Equal(HttpStatusCode.BadRequest, change.StatusCode);
        }

        using (var signOut = await victim.PostFormAsync(AccountsExtensions.SignOutPath, "", [new("returnUrl", "/")], withAntiforgery: false))
        {
            Assert.Equal(HttpStatusCode.BadRequest, signOut.StatusCode);
        }

        // Still signed in, with the old password.
        Assert.Equal(HttpStatusCode.OK, (await victim.GetAsync(AccountsExtensions.ChangePasswordPath)).Status);
        using var check = new AccountTestClient(App.BaseAddress);
        await check.SignInOrFailAsync(email, TestAccounts.Password);
    }

    [Fact]
    public async Task A_disabled_user_with_a_cookie_is_signed_out_at_the_next_request()
    {
        var email = TestAccounts.NewEmail("disable-me");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AccountsExtensions.ChangePasswordPath)).Status);

        await TestAccounts.WithAdministrationAsync(App, a => a.SetDisabledAsync(user.Id, true, CancellationToken.None));

        using var response = await client.Http.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.StartsWith(AccountsExtensions.SignInPath, client.Target(response), StringComparison.Ordinal);
        var (_, ide) = await client.GetAsync("/");
        Assert.DoesNotContain(email, ide, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cookie_is_checked_against_the_account_once_a_minute_by_default()
    {
        // The fixture sets the check to every request; the product default is what bounds how long a
        // disabled user keeps a session.
        var options = App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SecurityStampValidatorOptions>>().Value;
        Assert.Equal(TimeSpan.Zero, options.ValidationInterval);
        Assert.Equal(60, new AccountsOptions().SessionRecheckSeconds);
    }

    [Fact]
    public async Task A_reset_password_ends_the_old_session_and_the_one_time_password_must_be_changed_first()
    {
        var email = TestAccounts.NewEmail("reset");
        var user = await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var old = new AccountTestClient(App.BaseAddress);
        await old.SignInOrFailAsync(email, TestAccounts.Password);

        var reset = await TestAccounts.WithAdministrationAsync(App, a => a.ResetPasswordAsync(user.Id, CancellationToken.None));

        Assert.True(reset.Succeeded, reset.Error);
        using (var stale = await old.Http.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(AccountTestClient.Timeout))
        {
            Assert.Equal(HttpStatusCode.Found, stale.StatusCode);
        }

        using var client = new AccountTestClient(App.BaseAddress);
        using (var oldPassword = await client.SignInAsync(email, TestAccounts.Password))
        {
            Assert.Equal(SignIn.FailedMessage, ErrorOf(await AccountTestClient.BodyAsync(oldPassword)));
        }

        await client.SignInOrFailAsync(email, reset.OneTimePassword!);
        using (var ide = await client.Http.GetAsync("/").WaitAsync(AccountTestClient.Timeout))
        {
            Assert.Equal(HttpStatusCode.Found, ide.StatusCode);
            Assert.Equal($"{AccountsExtensions.ChangePasswordPath}?returnUrl=%2F", client.Target(ide));
        }

        const string Mine = "my very own password";
        using (var change = await client.PostFormAsync(AccountsExtensions.ChangePasswordPath + "?returnUrl=%2F", "change-password",
            [new("Input.CurrentPassword", reset.OneTimePassword!), new("Input.NewPassword", Mine), new("Input.ConfirmPassword", Mine)]))
        {
            Assert.Equal(HttpStatusCode.Found, change.StatusCode);
            Assert.Equal("/", client.Target(change));
        }

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/")).Status);
        using var again = new AccountTestClient(App.BaseAddress);
        await again.SignInOrFailAsync(email, Mine);
    }

    [Fact]
    public async Task Change_password_asks_for_the_current_one_and_applies_the_length_rule()
    {
        var email = TestAccounts.NewEmail("change");
        await TestAccounts.AddAsync(App, email, IrisRoles.Student);
        using var client = new AccountTestClient(App.BaseAddress);
        await client.SignInOrFailAsync(email, TestAccounts.Password);

        using (var wrongCurrent = await ChangeAsync(client, "not my password", "a new long password"))
        {
            Assert.Contains("Incorrect password", ErrorOf(await AccountTestClient.BodyAsync(wrongCurrent)), StringComparison.Ordinal);
        }

        using (var tooShort = await ChangeAsync(client, TestAccounts.Password, "short"))
        {
            Assert.Contains("at least 10 characters", ErrorOf(await AccountTestClient.BodyAsync(tooShort)), StringComparison.Ordinal);
        }

        // A form shown again after a mismatch carries no password back.
        using (var mismatch = await client.PostFormAsync(AccountsExtensions.ChangePasswordPath, "change-password",
            [new("Input.CurrentPassword", TestAccounts.Password), new("Input.NewPassword", "first new password"), new("Input.ConfirmPassword", "second new password")]))
        {
            var html = await AccountTestClient.BodyAsync(mismatch);
            Assert.Contains("The two new passwords differ.", html, StringComparison.Ordinal);
            Assert.DoesNotContain(TestAccounts.Password, html, StringComparison.Ordinal);
            Assert.DoesNotContain("first new password", html, StringComparison.Ordinal);
        }

        using (var done = await ChangeAsync(client, TestAccounts.Password, "a new long password"))
        {
            Assert.Contains("data-testid=\"password-changed\"", await AccountTestClient.BodyAsync(done), StringComparison.Ordinal);
        }

        // The browser that changed it stays signed in; the new password works elsewhere.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(AccountsExtensions.ChangePasswordPath)).Status);
        using var other = new AccountTestClient(App.BaseAddress);
        await other.SignInOrFailAsync(email, "a new long password");
    }

    [Fact]
    public async Task A_sign_in_survives_a_restart_because_the_key_ring_is_kept_in_the_database()
    {
        var data = IrisWebApp.CreateDataDirectory();
        var settings = new Dictionary<string, string?> { ["Iris:DataDirectory"] = data };
        var email = TestAccounts.NewEmail("restart");
        var cookies = new CookieContainer();
        await using (var before = await IrisWebApp.StartAsync(settings))
        {
            await TestAccounts.AddAsync(before, email, IrisRoles.Student);
            using var client = new AccountTestClient(before.BaseAddress);
            await client.SignInOrFailAsync(email, TestAccounts.Password);
            cookies.Add(new Cookie("iris.session", client.SessionCookie) { Domain = before.BaseAddress.Host });
        }

        await using var after = await IrisWebApp.StartAsync(settings);
        using var again = new AccountTestClient(after.BaseAddress);
        again.Cookies.Add(after.BaseAddress, new Cookie("iris.session", cookies.GetAllCookies()[0].Value));

        var (status, html) = await again.GetAsync(AccountsExtensions.ChangePasswordPath);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(email, html, StringComparison.Ordinal);
        await using (var scope = after.Services.CreateAsyncScope())
        {
            Assert.NotEmpty(await scope.ServiceProvider.GetRequiredService<IrisIde.Web.Persistence.IrisDbContext>().DataProtectionKeys.ToListAsync().WaitAsync(AccountTestClient.Timeout));
        }

        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task Pages_that_need_a_sign_in_send_an_anonymous_visitor_to_sign_in()
    {
        using var client = new AccountTestClient(App.BaseAddress);

        using var response = await client.Http.GetAsync(AccountsExtensions.ChangePasswordPath).WaitAsync(AccountTestClient.Timeout);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"{AccountsExtensions.SignInPath}?returnUrl=%2Faccount%2Fpassword", client.Target(response));
    }

    private static Task<HttpResponseMessage> ChangeAsync(AccountTestClient client, string current, string next) =>
        client.PostFormAsync(AccountsExtensions.ChangePasswordPath, "change-password",
            [new("Input.CurrentPassword", current), new("Input.NewPassword", next), new("Input.ConfirmPassword", next)]);

    /// <summary>
    /// The sign-in cookie's Set-Cookie header. Cookies are carried by hand: a cookie jar would not send the
    /// anti-forgery cookie back over plain HTTP once the "HTTPS" (forwarded) response marked it Secure.
    /// </summary>
    private static async Task<string> SessionSetCookieAsync(IrisWebApp app, string email, bool https)
    {
        using var handler = new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false };
        using var http = new HttpClient(handler) { BaseAddress = app.BaseAddress, Timeout = AccountTestClient.Timeout };
        if (https)
        {
            http.DefaultRequestHeaders.Add("X-Forwarded-Proto", "https");
        }

        using var page = await http.GetAsync(AccountsExtensions.SignInPath).WaitAsync(AccountTestClient.Timeout);
        var antiforgeryCookie = Assert.Single(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith("iris.antiforgery=", StringComparison.Ordinal));
        Assert.Equal(https, antiforgeryCookie.Contains("secure", StringComparison.OrdinalIgnoreCase));
        using var request = new HttpRequestMessage(HttpMethod.Post, AccountsExtensions.SignInPath)
        {
            Content = new FormUrlEncodedContent(
            [
                new("_handler", "signin"),
                new("__RequestVerificationToken", AccountTestClient.AntiforgeryToken(await AccountTestClient.BodyAsync(page))),
                new("Input.Email", email),
                new("Input.Password", TestAccounts.Password),
            ]),
        };
        request.Headers.Add("Cookie", antiforgeryCookie.Split(';')[0]);
        using var response = await http.SendAsync(request).WaitAsync(AccountTestClient.Timeout);
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        return Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("iris.session=", StringComparison.Ordinal));
    }

    /// <summary>The text of the page's error paragraph, or "" when it has none.</summary>
    internal static string ErrorOf(string html)
    {
        var match = System.Text.RegularExpressions.Regex.Match(html, "data-testid=\"form-error\">([^<]*)<");
        return match.Success ? WebUtility.HtmlDecode(match.Groups[1].Value) : "";
    }
}
