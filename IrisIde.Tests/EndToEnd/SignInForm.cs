using IrisIde.Tests.Accounts;
using IrisIde.Web.Accounts;
using Microsoft.Playwright;

namespace IrisIde.Tests.EndToEnd;

/// <summary>The real sign-in page, filled in and sent as a person does; shared by the end-to-end tests.</summary>
internal static class SignInForm
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    /// <summary>Fills in and sends the sign-in form of the page already open (where it lands is the caller's to check).</summary>
    public static async Task SubmitAsync(IPage page, string email, string password)
    {
        await page.GetByTestId("email").FillAsync(email).WaitAsync(Timeout);
        await page.GetByTestId("password").FillAsync(password).WaitAsync(Timeout);
        await page.GetByTestId("submit").ClickAsync().WaitAsync(Timeout);
    }

    /// <summary>A new page of <paramref name="context"/> signed in through the sign-in page, back on the IDE.</summary>
    public static async Task<IPage> SignedInPageAsync(IBrowserContext context, string email, string password = TestAccounts.Password)
    {
        var page = await context.NewPageAsync().WaitAsync(Timeout);
        await page.GotoAsync(AccountsExtensions.SignInPath).WaitAsync(Timeout);
        await SubmitAsync(page, email, password);
        await page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/").WaitAsync(Timeout);
        return page;
    }
}
