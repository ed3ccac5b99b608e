using System.Net;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Accounts;

/// <summary>The first start: a one-time set-up link while there is no admin, and nothing at /setup after.</summary>
public sealed class AdminSetupTests
{
    [Fact]
    public async Task The_set_up_link_creates_the_first_admin_once_and_then_is_dead()
    {
        await using var app = await IrisWebApp.StartAsync();
        var setup = app.Services.GetRequiredService<AdminSetup>();
        var token = setup.Token;
        Assert.NotNull(token);
        Assert.True(token.Length >= 43, "a 256-bit token");
        using var visitor = new AccountTestClient(app.BaseAddress);

        var (pageStatus, page) = await visitor.GetAsync($"/setup/{token}");
        Assert.Equal(HttpStatusCode.OK, pageStatus);
        Assert.Contains("Create the admin account", page, StringComparison.Ordinal);

        // A refused password keeps the link alive.
        using (var weak = await PostSetupAsync(visitor, token, "root@example.edu", "short"))
        {
            Assert.Contains("at least 10 characters", SignInTests.ErrorOf(await AccountTestClient.BodyAsync(weak)), StringComparison.Ordinal);
        }

        using (var created = await PostSetupAsync(visitor, token, "root@example.edu", TestAccounts.Password))
        {
            Assert.Equal(HttpStatusCode.Found, created.StatusCode);
            Assert.Equal("/admin/users", visitor.Target(created));
        }

        // Signed in as the new admin.
        var (usersStatus, users) = await visitor.GetAsync("/admin/users");
        Assert.Equal(HttpStatusCode.OK, usersStatus);
        Assert.Contains("data-email=\"root@example.edu\"", users, StringComparison.Ordinal);
        Assert.False(setup.IsActive);

        // The same link again: nothing there, and a post with it creates nobody.
        using var reuser = new AccountTestClient(app.BaseAddress);
        var (againStatus, again) = await reuser.GetAsync($"/setup/{token}");
        Assert.Equal(HttpStatusCode.NotFound, againStatus);
        Assert.DoesNotContain("Create the admin account", again, StringComparison.Ordinal);
        using (var reused = await PostSetupAsync(reuser, token, "second@example.edu", TestAccounts.Password))
        {
            Assert.True(reused.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"reused link: {reused.StatusCode}");
            Assert.Null(reuser.SessionCookie);
        }

        var all = await TestAccounts.WithAdministrationAsync(app, a => a.ListAsync(CancellationToken.None));
        Assert.Equal(["root@example.edu"], all.Select(u => u.Email));
        Assert.Equal(IrisRoles.Admin, all[0].Role);
    }

    [Fact]
    public async Task A_wrong_token_gets_404_and_cannot_create_an_admin()
    {
        await using var app = await IrisWebApp.StartAsync();
        var token = app.Services.GetRequiredService<AdminSetup>().Token!;
        using var guesser = new AccountTestClient(app.BaseAddress);

        foreach (var guess in new[] { "wrong", token[..^1], token + "x", token.ToUpperInvariant(), "" + token[1..] + token[0] })
        {
            var (status, html) = await guesser.GetAsync($"/setup/{Uri.EscapeDataString(guess)}");
            Assert.Equal(HttpStatusCode.NotFound, status);
            Assert.DoesNotContain("Create the admin account", html, StringComparison.Ordinal);
            using var post = await PostSetupAsync(guesser, guess, "intruder@example.edu", TestAccounts.Password);
            Assert.True(post.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.BadRequest, $"guess {guess}: {post.StatusCode}");
        }

        Assert.Empty(await TestAccounts.WithAdministrationAsync(app, a => a.ListAsync(CancellationToken.None)));
        Assert.True(app.Services.GetRequiredService<AdminSetup>().IsActive);
    }

    [Fact]
    public async Task A_server_that_has_an_admin_makes_no_set_up_link()
    {
        var data = IrisWebApp.CreateDataDirectory();
        try
        {
            await using (var first = await IrisWebApp.StartAsync(new Dictionary<string, string?> { ["Iris:DataDirectory"] = data }))
            {
                Assert.True(first.Services.GetRequiredService<AdminSetup>().IsActive);
                await TestAccounts.AddAsync(first, "boss@example.edu", IrisRoles.Admin);
            }

            await using var restarted = await IrisWebApp.StartAsync(new Dictionary<string, string?> { ["Iris:DataDirectory"] = data });
            var setup = restarted.Services.GetRequiredService<AdminSetup>();
            Assert.False(setup.IsActive);
            Assert.Null(setup.Token);
            using var client = new AccountTestClient(restarted.BaseAddress);
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/setup/anything")).Status);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Tokens_differ_from_start_to_start()
    {
        await using var one = await IrisWebApp.StartAsync();
        await using var two = await IrisWebApp.StartAsync();

        Assert.NotEqual(one.Services.GetRequiredService<AdminSetup>().Token, two.Services.GetRequiredService<AdminSetup>().Token);
    }

    private static Task<HttpResponseMessage> PostSetupAsync(AccountTestClient client, string token, string email, string password) =>
        client.PostFormAsync($"/setup/{Uri.EscapeDataString(token)}", "setup",
            [new("Input.Email", email), new("Input.Password", password), new("Input.ConfirmPassword", password)],
            tokenFrom: AccountsExtensions.SignInPath);
}
