using System.Diagnostics;
using IrisIde.Tests.Accounts;
using IrisIde.Tests.Web;
using IrisIde.Web.Accounts;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace IrisIde.Tests.EndToEnd;

/// <summary>
/// The admin dashboard in Debian's chromium: a student's long-running program appears on the admin's open
/// dashboard without a reload (pushed over the page's circuit), the admin ends it there, and the student's IDE
/// says who ended it.
/// </summary>
[Collection(IdeCollection.Name)]
[Trait("Needs", "Chromium")]
[Trait("Needs", "Bubblewrap")]
public sealed class DashboardBrowserTests(IdeFixture ide, ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = IdePage.Timeout;

    [Fact]
    public async Task A_students_run_appears_on_the_open_dashboard_and_the_admin_ends_it()
    {
        await using var app = await IrisWebApp.StartAsync(new Dictionary<string, string?>
        {
            ["Iris:Auth:AllowAnonymousRuns"] = IrisWebApp.ProductDefaults,
            // Sandbox uids of its own (the dashboard's other tests use 65400-65407).
            ["Iris:Sandbox:Uid"] = "65410",
            ["Iris:Sandbox:UidCount"] = "8",
        });
        var adminEmail = TestAccounts.NewEmail("dashboard-admin");
        var studentEmail = TestAccounts.NewEmail("dashboard-student");
        await TestAccounts.AddAsync(app, adminEmail, IrisRoles.Admin);
        await TestAccounts.AddAsync(app, studentEmail, IrisRoles.Student);

        await using var adminContext = await ide.NewContextAsync(app);
        var admin = await SignInForm.SignedInPageAsync(adminContext, adminEmail);
        await admin.GetByTestId("admin-dashboard-link").ClickAsync().WaitAsync(Timeout);
        await admin.GetByTestId("no-sessions").WaitForAsync().WaitAsync(Timeout);
        await admin.GetByTestId("chart-sessions").WaitForAsync().WaitAsync(Timeout);

        await using var studentContext = await ide.NewContextAsync(app);
        await SignInForm.SignedInPageAsync(studentContext, studentEmail);
        var student = await IdePage.OpenAsync(studentContext).WaitAsync(Timeout * 3);
        await student.RunAsync("python", "import time\nprint('working', flush=True)\nwhile True:\n    time.sleep(1)\n");
        await student.WaitForTerminalTextAsync("working");

        // No reload: the row arrives with the next push. How long it took is reported, not asserted (shared machine).
        var shown = Stopwatch.StartNew();
        var row = admin.GetByTestId("session").Filter(new LocatorFilterOptions { HasText = studentEmail });
        await row.WaitForAsync().WaitAsync(Timeout);
        output.WriteLine($"the session appeared on the open dashboard {shown.ElapsedMilliseconds} ms after its first output");
        Assert.Contains("python", await row.TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        Assert.Contains("IDE", await row.TextContentAsync().WaitAsync(Timeout), StringComparison.Ordinal);
        Assert.EndsWith("MiB", (await row.GetByTestId("memory").TextContentAsync().WaitAsync(Timeout))?.Trim(), StringComparison.Ordinal);
        Assert.Equal("1", (await admin.GetByTestId("session-count").TextContentAsync().WaitAsync(Timeout))?.Trim());

        await row.GetByTestId("end").ClickAsync().WaitAsync(Timeout);

        Assert.Equal("The session was ended.", (await admin.GetByTestId("end-result").TextContentAsync().WaitAsync(Timeout))?.Trim());
        Assert.Contains($"killed: ended by an admin ({adminEmail})", await student.WaitForExitAsync(), StringComparison.Ordinal);
        await admin.GetByTestId("no-sessions").WaitForAsync().WaitAsync(Timeout);
    }
}
