using Bunit;
using Bunit.TestDoubles;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Hubs;
using Microsoft.Extensions.DependencyInjection;
using IdeComponent = IrisIde.Web.Components.Pages.Ide;
using RunEvent = IrisIde.Web.Components.Terminal.RunEvent;
using TerminalPane = IrisIde.Web.Components.Terminal.Terminal;

namespace IrisIde.Tests.Web.Components.Pages;

/// <summary>
/// The IDE page's own logic with bunit: when Run and Stop are enabled, the status line as run events
/// arrive, and what the page asks of its editor, terminal and page modules. The browser modules are
/// bunit's JS interop (loose: calls nobody set up return nothing); the real ones run in EndToEnd.
/// </summary>
public sealed class IdeComponentTests : BunitContext, IAsyncLifetime
{
    private readonly BunitJSInterop _page;
    private readonly BunitJSInterop _editor;
    private readonly BunitJSInterop _terminal;

    public IdeComponentTests()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        _page = JSInterop.SetupModule("./Components/Pages/Ide.razor.js").SetupModule("attach", _ => true);
        _editor = JSInterop.SetupModule("./Components/Editor/SourceEditor.razor.js").SetupModule("attach", _ => true);
        _terminal = JSInterop.SetupModule("./Components/Terminal/Terminal.razor.js").SetupModule("attach", _ => true);
        ProbingLanguagesOnly.AddPageServices(Services);
        // The top bar shows who is signed in (nobody, unless a test signs someone in).
        _authorization = AddAuthorization();
    }

    private readonly BunitAuthorizationContext _authorization;

    // As in the app, where a hosted service probes the toolchains at start-up, before most pages open
    // (except the test that opens the page while the probe still runs).
    public Task InitializeAsync() => Services.GetRequiredService<LanguageAvailability>().GetAllAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

    Task IAsyncLifetime.DisposeAsync() => Task.CompletedTask;

    [Fact]
    public void The_top_bar_offers_sign_in_to_a_visitor_and_shows_a_signed_in_user_with_a_sign_out_post()
    {
        Preferences(theme: null, language: null);
        var anonymous = Render<IdeComponent>();
        Assert.Equal("/account/signin", anonymous.Find("[data-testid=sign-in-link]").GetAttribute("href"));
        Assert.Empty(anonymous.FindAll("[data-testid=signed-in-user]"));

        _authorization.SetAuthorized("ann@example.edu");
        _authorization.SetRoles(IrisIde.Web.Accounts.IrisRoles.Student);
        var signedIn = Render<IdeComponent>();

        Assert.Equal("ann@example.edu", signedIn.Find("[data-testid=signed-in-user]").TextContent);
        Assert.Equal("Student", signedIn.Find("[data-testid=signed-in-role]").TextContent);
        Assert.Empty(signedIn.FindAll("[data-testid=admin-users-link]"));
        var form = signedIn.Find("form.sign-out");
        Assert.Equal(("post", "/account/signout"), (form.GetAttribute("method"), form.GetAttribute("action")));
        Assert.Empty(signedIn.FindAll("[data-testid=sign-in-link]"));
    }

    [Fact]
    public void Without_anonymous_runs_a_visitor_is_offered_sign_in_to_run_and_a_signed_in_user_the_Run_button()
    {
        Preferences(theme: null, language: null);
        // The provider is built already (the probe ran); its options object is this test's own.
        Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<IrisIde.Web.Runner.RunnerAccessOptions>>().Value.AllowAnonymousRuns = false;

        var anonymous = Render<IdeComponent>();

        anonymous.WaitForAssertion(() => Assert.Equal("/account/signin?returnUrl=%2F", anonymous.Find("[data-testid=sign-in-to-run]").GetAttribute("href")), TimeSpan.FromSeconds(30));
        Assert.Empty(anonymous.FindAll("[data-testid=run-button]"));
        Assert.Contains("Sign in to run", anonymous.Find("[data-testid=status-line]").TextContent, StringComparison.Ordinal);

        _authorization.SetAuthorized("ann@example.edu");
        var signedIn = Render<IdeComponent>();

        signedIn.WaitForAssertion(() => Assert.False(RunButton(signedIn).HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        Assert.Empty(signedIn.FindAll("[data-testid=sign-in-to-run]"));
    }

    [Fact]
    public void Run_is_enabled_once_the_editor_and_the_terminal_are_ready()
    {
        Preferences(theme: null, language: null);

        var ide = Render<IdeComponent>();

        ide.WaitForAssertion(() => Assert.False(RunButton(ide).HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        Assert.True(StopButton(ide).HasAttribute("disabled"));
        Assert.Equal("python", ide.Find("[data-testid=language-select]").GetAttribute("value"));
        Assert.Equal("idle", Phase(ide));
        // The editor shows the default language's buffer once it is ready.
        var shown = _editor.VerifyInvoke("showLanguage");
        Assert.Equal("python", shown.Arguments[0]);
    }

    [Fact]
    public async Task Status_line_follows_the_run_events_and_Run_and_Stop_swap_while_it_runs()
    {
        Preferences(theme: null, language: null);
        var ide = RenderReady();
        await ide.InvokeAsync(() => RunButton(ide).Click());

        await ReportAsync(ide, new RunEvent("started", RunId: "run-1"));
        await ReportAsync(ide, new RunEvent("running"));

        Assert.Equal("running", Phase(ide));
        Assert.Contains("Running", StatusText(ide), StringComparison.Ordinal);
        Assert.True(RunButton(ide).HasAttribute("disabled"));
        Assert.False(StopButton(ide).HasAttribute("disabled"));
        Assert.True(ide.Find("[data-testid=language-select]").HasAttribute("disabled"));

        await ReportAsync(ide, new RunEvent("exit", Verdict: "ok", Stage: "run", ExitCode: 0, TimeMs: 50, MemoryBytes: 3_700_000));

        Assert.Equal("exited", Phase(ide));
        Assert.StartsWith("Exited with code 0 · ok", StatusText(ide), StringComparison.Ordinal);
        Assert.False(RunButton(ide).HasAttribute("disabled"));
        Assert.True(StopButton(ide).HasAttribute("disabled"));
    }

    [Fact]
    public async Task A_compile_error_says_how_many_diagnostics_are_marked_in_the_editor()
    {
        Preferences(theme: null, language: "c");
        var ide = RenderReady();
        await ide.InvokeAsync(() => RunButton(ide).Click());

        await ReportAsync(ide, new RunEvent("started", RunId: "run-2"));
        await ReportAsync(ide, new RunEvent("compiling"));
        Assert.Equal("compiling", Phase(ide));
        await ReportAsync(ide, new RunEvent("compiled", Success: false, Diagnostics: 2));
        await ReportAsync(ide, new RunEvent("exit", Verdict: "compile_error", Stage: "compile", ExitCode: 1));

        Assert.Contains("compile_error", StatusText(ide), StringComparison.Ordinal);
        Assert.EndsWith("2 marked in the editor", StatusText(ide), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_sends_the_editor_and_the_selected_language_to_the_terminal()
    {
        Preferences(theme: null, language: "c");
        var ide = RenderReady();

        await ide.InvokeAsync(() => RunButton(ide).Click());

        var run = _terminal.VerifyInvoke("run");
        Assert.Equal("c", run.Arguments[1]);
        Assert.Equal("main.c", run.Arguments[2]);
        Assert.Equal("starting", Phase(ide));
        Assert.True(RunButton(ide).HasAttribute("disabled"));
    }

    [Fact]
    public async Task Choosing_a_language_remembers_it_and_shows_its_buffer()
    {
        Preferences(theme: null, language: null);
        var ide = RenderReady();

        await ide.InvokeAsync(() => ide.Find("[data-testid=language-select]").Change("go"));

        Assert.Equal("go", _page.VerifyInvoke("rememberLanguage").Arguments[0]);
        Assert.Equal("go", _editor.Invocations["showLanguage"][^1].Arguments[0]);
        Assert.Equal("go", ide.Find("[data-testid=language-select]").GetAttribute("value"));
    }

    [Fact]
    public async Task The_remembered_language_and_theme_are_restored_and_the_toggle_switches_every_part()
    {
        Preferences(theme: "light", language: "java");
        var ide = RenderReady();

        Assert.Equal("java", ide.Find("[data-testid=language-select]").GetAttribute("value"));
        Assert.Equal("light", _page.Invocations["setTheme"][^1].Arguments[0]);
        Assert.Equal("Dark theme", ide.Find("[data-testid=theme-toggle]").TextContent);

        await ide.InvokeAsync(() => ide.Find("[data-testid=theme-toggle]").Click());

        Assert.Equal("dark", _page.Invocations["setTheme"][^1].Arguments[0]);
        Assert.Equal("dark", _editor.Invocations["setTheme"][^1].Arguments[0]);
        Assert.Equal("dark", _terminal.Invocations["setTheme"][^1].Arguments[0]);
        Assert.Equal("Light theme", ide.Find("[data-testid=theme-toggle]").TextContent);
    }

    private void Preferences(string? theme, string? language) =>
        _page.Setup<IdeComponent.PagePreferences>("preferences").SetResult(new IdeComponent.PagePreferences(theme, language));

    private IRenderedComponent<IdeComponent> RenderReady()
    {
        var ide = Render<IdeComponent>();
        ide.WaitForAssertion(() => Assert.False(RunButton(ide).HasAttribute("disabled")), TimeSpan.FromSeconds(30));
        return ide;
    }

    private static Task ReportAsync(IRenderedComponent<IdeComponent> ide, RunEvent runEvent)
    {
        var terminal = ide.FindComponent<TerminalPane>().Instance;
        return ide.InvokeAsync(() => terminal.ReportRunEvent(runEvent));
    }

    private static AngleSharp.Dom.IElement RunButton(IRenderedComponent<IdeComponent> ide) => ide.Find("[data-testid=run-button]");

    private static AngleSharp.Dom.IElement StopButton(IRenderedComponent<IdeComponent> ide) => ide.Find("[data-testid=stop-button]");

    private static string? Phase(IRenderedComponent<IdeComponent> ide) => ide.Find("[data-testid=status-line]").GetAttribute("data-phase");

    private static string StatusText(IRenderedComponent<IdeComponent> ide) => ide.Find("[data-testid=status-line] .status-text").TextContent;
}

/// <summary>The IDE page opened right after start-up, while the toolchain probe still runs.</summary>
public sealed class IdeBeforeLanguagesAreKnownTests : BunitContext
{
    [Fact]
    public void The_remembered_language_is_restored_once_the_probe_has_finished()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        var page = JSInterop.SetupModule("./Components/Pages/Ide.razor.js").SetupModule("attach", _ => true);
        page.Setup<IdeComponent.PagePreferences>("preferences").SetResult(new IdeComponent.PagePreferences(null, "c"));
        ProbingLanguagesOnly.AddPageServices(Services);
        AddAuthorization();

        // No probe before: the first render comes while it runs (it starts a process per language).
        var ide = Render<IdeComponent>();

        ide.WaitForAssertion(() => Assert.Equal("c", ide.Find("[data-testid=language-select]").GetAttribute("value")), TimeSpan.FromSeconds(60));
    }
}

/// <summary>The page asks its session host for languages only; this one answers from the real toolchain probe.</summary>
internal sealed class ProbingLanguagesOnly(LanguageAvailability languages) : ISessionHost
{
    /// <summary>What the Ide page needs from the container, with the real toolchain probe behind it.</summary>
    public static void AddPageServices(IServiceCollection services)
    {
        services.AddLogging();
        services.AddOptions<ExecutionHubOptions>();
        services.AddOptions<ExecutionOptions>();
        services.AddSingleton(LanguageCatalog.LoadEmbedded());
        services.AddSingleton<LanguageAvailability>();
        services.AddSingleton<ISessionHost, ProbingLanguagesOnly>();
        // As every test app: the page's own tests run code without an account (the product's default is off).
        services.AddOptions<IrisIde.Web.Runner.RunnerAccessOptions>().Configure(o => o.AllowAnonymousRuns = true);
    }

    public string Name => "languages-only";

    public Task<IRunSession> StartAsync(RunRequest request, SessionOwner owner, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("The page itself starts no run: the terminal does, through the hub.");

    public Task<IReadOnlyList<LanguageStatus>> GetLanguagesAsync(CancellationToken cancellationToken) => languages.GetAllAsync(cancellationToken);
}
