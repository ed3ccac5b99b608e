using System.Globalization;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sessions;
using IrisIde.Web.Accounts;
using IrisIde.Web.Components.Editor;
using IrisIde.Web.Components.Terminal;
using IrisIde.Web.Courses;
using IrisIde.Web.Ide;
using IrisIde.Web.Runner;
using IrisIde.Web.RunViews;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.JSInterop;
using TerminalPane = IrisIde.Web.Components.Terminal.Terminal;

namespace IrisIde.Web.Components.Pages;

/// <summary>
/// The IDE page: it wires the language picker, the editor and the terminal together and keeps the
/// status line. Source and program output stay in the browser; only status events come here.
/// </summary>
public sealed partial class Ide : IAsyncDisposable
{
    private const string DefaultLanguageId = "python";

    private IReadOnlyList<LanguageStatus> _languages = [];
    private LanguageStatus? _selected;
    private string? _languageId;
    private RunStatus _status = RunStatus.Idle;
    private int _diagnosticCount;
    private string _theme = "dark";
    private bool _editorReady;
    private bool _terminalReady;
    private SourceEditor? _editor;
    private TerminalPane? _terminal;
    private IJSObjectReference? _module;
    private IJSObjectReference? _page;
    private DotNetObjectReference<Ide>? _self;
    private readonly CancellationTokenSource _disposed = new();
    private Task _languagesLoaded = Task.CompletedTask;
    private bool _mustSignIn;
    private IReadOnlyList<Course> _courses = [];
    private string? _courseId;
    private string? _userId;
    private RestoredRun? _restore;
    private bool _restored;
    private string? _restoreNote;

    /// <summary>Languages are asked of the session backend: a runner pod's toolchains, not this host's PATH.</summary>
    [Inject]
    private ISessionHost Sessions { get; set; } = default!;

    [Inject]
    private IJSRuntime JS { get; set; } = default!;

    /// <summary>For the course picker: a scope per look-up, not a database context held for the whole circuit.</summary>
    [Inject]
    private IServiceScopeFactory Scopes { get; set; } = default!;

    [Inject]
    private IOptions<RunnerAccessOptions> Access { get; set; } = default!;

    [CascadingParameter]
    private Task<AuthenticationState>? AuthenticationState { get; set; }

    /// <summary>"Open in editor" from a run's page: the run whose files to load. Only its id comes from the address.</summary>
    [SupplyParameterFromQuery(Name = "fromRun")]
    private string? FromRun { get; set; }

    private bool CanRun => _editorReady && _terminalReady && _selected is { IsAvailable: true } && !_status.IsActive && !_mustSignIn;

    /// <summary>Where "Sign in to run" leads: the sign-in page, back here afterwards.</summary>
    private static string SignInToRunUrl => $"{AccountsExtensions.SignInPath}?returnUrl=%2F";

    private string OtherTheme => _theme == "light" ? "dark" : "light";

    private string? LanguageNote => _selected switch
    {
        null => null,
        { IsAvailable: false } unavailable => UnavailableText(unavailable),
        _ => null,
    };

    private string StatusText
    {
        get
        {
            if (_mustSignIn && _status.Phase == RunPhase.Idle)
            {
                return "Sign in to run code on this server.";
            }

            var text = _status.Describe();
            if (_status.Phase == RunPhase.Exited && _status.Verdict == "compile_error" && _diagnosticCount > 0)
            {
                text += string.Create(CultureInfo.InvariantCulture, $" · {_diagnosticCount} marked in the editor");
            }

            return text;
        }
    }

    private static string UnavailableText(LanguageStatus language) =>
        $"{language.Language.DisplayName} is not available on this server: {language.Reason}";

    // The first render can come before the languages are known (the toolchain probe may still run right
    // after start-up); OnAfterRenderAsync waits for them before it applies the remembered language.
    protected override Task OnInitializedAsync() => _languagesLoaded = LoadLanguagesAsync();

    private async Task LoadLanguagesAsync()
    {
        // Without anonymous runs an anonymous visitor still gets the editor, and a Run button that says why it is off.
        if (!Access.Value.AllowAnonymousRuns)
        {
            _mustSignIn = AuthenticationState is null || (await AuthenticationState).User.Identity?.IsAuthenticated != true;
        }

        _languages = await Sessions.GetLanguagesAsync(_disposed.Token);
        Select(DefaultLanguageId);
        await LoadCoursesAsync();
        await LoadRunToRestoreAsync();
    }

    /// <summary>
    /// The run named by <c>?fromRun=</c>, read here on the server through <see cref="RunViewReader"/> (the run
    /// visibility rule of its page and the API), never from content the browser sends: an id the user may not see
    /// restores nothing and reads exactly like one that does not exist. The editor holds one file per language,
    /// so the run's file with the language's file name (or its first) is restored.
    /// </summary>
    private async Task LoadRunToRestoreAsync()
    {
        if (FromRun is null)
        {
            return;
        }

        var user = AuthenticationState is null ? null : (await AuthenticationState).User;
        RunDetails? details = null;
        if (user is not null && Guid.TryParse(FromRun, out var runId))
        {
            await using var scope = Scopes.CreateAsyncScope();
            details = await scope.ServiceProvider.GetRequiredService<RunViewReader>().DetailsAsync(user, runId, _disposed.Token);
        }

        var language = details is null ? null : _languages.FirstOrDefault(l => l.IsAvailable
            && (l.Language.Id == details.Run.Language || l.Language.Aliases.Contains(details.Run.Language, StringComparer.Ordinal)));
        var file = language is null ? null : details!.Files.FirstOrDefault(f => f.Name == language.Language.FileName) ?? (details.Files.Count > 0 ? details.Files[0] : null);
        if (details is null || language is null || file is null)
        {
            _restoreNote = "That run cannot be opened: it does not exist, its files are gone, or its language is not available.";
            return;
        }

        _restore = new RestoredRun(language.Language.Id, file.Content);
        Select(language.Language.Id);
        var others = details.Files.Count - 1;
        _restoreNote = others > 0
            ? string.Create(CultureInfo.InvariantCulture, $"Opened {file.Name} of the run ({others} more file(s) stay on the run's page: the editor holds one).")
            : $"Opened {file.Name} of the run.";
    }

    /// <summary>
    /// Puts the run's source into the editor once the editor shows its language (undo brings the old buffer back),
    /// then drops <c>?fromRun=</c> from the address (without a navigation): reloading the IDE must not put the run
    /// back over what the student typed since.
    /// </summary>
    private async Task RestoreRunAsync()
    {
        if (_restore is not { } restore || _restored || !_editorReady || _editor is null || _selected?.Language.Id != restore.LanguageId)
        {
            return;
        }

        _restored = true;
        await _editor.ReplaceSourceAsync(restore.Source, _disposed.Token);
        await JS.InvokeVoidAsync("history.replaceState", _disposed.Token, null, "", "/");
    }

    /// <summary>The signed-in user's active courses, for the picker; archived ones take no runs.</summary>
    private async Task LoadCoursesAsync()
    {
        var user = AuthenticationState is null ? null : (await AuthenticationState).User;
        if (CourseActor.Of(user) is not { } actor)
        {
            return;
        }

        await using var scope = Scopes.CreateAsyncScope();
        if (scope.ServiceProvider.GetService<CourseService>() is { } courses)
        {
            _userId = actor.UserId;
            _courses = [.. (await courses.ListMineAsync(actor, _disposed.Token)).Where(v => !v.Course.IsArchived).Select(v => v.Course)];
        }
    }

    protected override async Task OnAfterRenderAsync(bool firstRender)
    {
        if (!firstRender)
        {
            return;
        }

        _self = DotNetObjectReference.Create(this);
        _module = await JS.InvokeAsync<IJSObjectReference>("import", _disposed.Token, "./Components/Pages/Ide.razor.js");
        _page = await _module.InvokeAsync<IJSObjectReference>("attach", _disposed.Token, _self);
        var preferences = await _page.InvokeAsync<PagePreferences>("preferences", _disposed.Token);
        await _languagesLoaded;
        if (_restore is null && preferences.Language is { } remembered && _languages.Any(l => l.IsAvailable && l.Language.Id == remembered))
        {
            Select(remembered);
        }

        if (_courses.Count > 0 && _userId is not null)
        {
            // Remembered per user in this browser: two people sharing a lab machine keep their own choice.
            var rememberedCourse = await _page.InvokeAsync<string?>("rememberedCourse", _disposed.Token, _userId);
            _courseId = _courses.FirstOrDefault(c => c.Id.ToString() == rememberedCourse)?.Id.ToString();
        }

        if (preferences.Theme is "light" or "dark" && preferences.Theme != _theme)
        {
            _theme = preferences.Theme;
            await ApplyThemeAsync();
        }

        StateHasChanged();
        await ShowSelectedLanguageAsync();
        await RestoreRunAsync();
    }

    private void Select(string languageId)
    {
        _selected = _languages.FirstOrDefault(l => l.Language.Id == languageId && l.IsAvailable)
            ?? _languages.FirstOrDefault(l => l.IsAvailable)
            ?? (_languages.Count > 0 ? _languages[0] : null);
        _languageId = _selected?.Language.Id;
    }

    private async Task OnEditorReadyAsync()
    {
        _editorReady = true;
        await ShowSelectedLanguageAsync();
        if (_languagesLoaded.IsCompleted)
        {
            await RestoreRunAsync();
        }

        if (_theme != "dark" && _editor is not null)
        {
            await _editor.SetThemeAsync(_theme, _disposed.Token);
        }
    }

    private Task OnTerminalReadyAsync()
    {
        _terminalReady = true;
        return Task.CompletedTask;
    }

    private async Task OnLanguageChangedAsync(ChangeEventArgs args)
    {
        if (_status.IsActive || args.Value is not string id)
        {
            return;
        }

        var language = _languages.FirstOrDefault(l => l.Language.Id == id);
        if (language is { IsAvailable: false })
        {
            return;
        }

        Select(id);
        _status = _status.Reset();
        if (_page is not null)
        {
            await _page.InvokeVoidAsync("rememberLanguage", _disposed.Token, id);
        }

        await ShowSelectedLanguageAsync();
    }

    /// <summary>
    /// Whether the picked course (if any) offers the language. Only a hint: the language already selected stays
    /// selectable to run, and the server refuses it with the course's list.
    /// </summary>
    private bool OfferedInCourse(string languageId) =>
        _courses.FirstOrDefault(c => c.Id.ToString() == _courseId) is not { LanguageList: { Count: > 0 } offered }
        || offered.Contains(languageId, StringComparer.Ordinal)
        || languageId == _languageId;

    private async Task OnCourseChangedAsync(ChangeEventArgs args)
    {
        if (_status.IsActive || args.Value is not string id)
        {
            return;
        }

        _courseId = _courses.FirstOrDefault(c => c.Id.ToString() == id)?.Id.ToString();
        if (_page is not null && _userId is not null)
        {
            await _page.InvokeVoidAsync("rememberCourse", _disposed.Token, _userId, _courseId ?? "");
        }
    }

    private async Task ShowSelectedLanguageAsync()
    {
        if (_editorReady && _editor is not null && _selected is { } selected)
        {
            var language = selected.Language;
            await _editor.ShowLanguageAsync(language.Id, language.Monaco, language.Template, _disposed.Token);
        }
    }

    private async Task ResetToTemplateAsync()
    {
        if (_editor is not null && _selected is { } selected)
        {
            await _editor.ResetToTemplateAsync(selected.Language.Template, _disposed.Token);
        }
    }

    /// <summary>Run button and Ctrl+Enter (from the page module).</summary>
    [JSInvokable]
    public async Task RunAsync()
    {
        if (!CanRun || _editor?.Handle is not { } editor || _terminal is null || _selected is not { } selected)
        {
            return;
        }

        _status = _status.Begin();
        _diagnosticCount = 0;
        StateHasChanged();
        await _terminal.RunAsync(editor, selected.Language.Id, selected.Language.FileName, _courseId, _disposed.Token);
        await _terminal.FocusAsync(_disposed.Token);
    }

    private async Task StopAsync()
    {
        if (_terminal is not null)
        {
            await _terminal.StopAsync(_disposed.Token);
        }
    }

    private Task OnRunEventAsync(RunEvent runEvent)
    {
        _status = runEvent.Type switch
        {
            "started" => _status.Started(runEvent.RunId ?? string.Empty),
            "compiling" => _status.Compiling(),
            "running" => _status.Running(),
            "exit" => _status.Exited(
                runEvent.Verdict ?? "unknown",
                runEvent.Stage ?? "run",
                runEvent.ExitCode,
                runEvent.Signal,
                runEvent.TimeMs ?? 0,
                runEvent.MemoryBytes ?? 0,
                runEvent.Message),
            "error" or "disconnected" => _status.Failed(runEvent.Message ?? "the run could not start"),
            "rejected" => _status.Begin().Failed(runEvent.Message ?? "the run was not sent"),
            _ => _status,
        };
        if (runEvent is { Type: "compiled", Diagnostics: { } count })
        {
            _diagnosticCount = count;
        }

        StateHasChanged();
        return Task.CompletedTask;
    }

    private async Task ToggleThemeAsync()
    {
        _theme = OtherTheme;
        await ApplyThemeAsync();
    }

    private async Task ApplyThemeAsync()
    {
        if (_page is not null)
        {
            await _page.InvokeVoidAsync("setTheme", _disposed.Token, _theme);
        }

        if (_editor is not null)
        {
            await _editor.SetThemeAsync(_theme, _disposed.Token);
        }

        if (_terminal is not null)
        {
            await _terminal.SetThemeAsync(_theme, _disposed.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync();
        try
        {
            if (_page is not null)
            {
                await _page.InvokeVoidAsync("dispose");
                await _page.DisposeAsync();
            }

            if (_module is not null)
            {
                await _module.DisposeAsync();
            }
        }
        catch (JSDisconnectedException)
        {
            // The page is gone with its listeners.
        }

        _self?.Dispose();
        _disposed.Dispose();
    }

    /// <summary>What the page module remembers in local storage (internal for the component tests).</summary>
    internal sealed record PagePreferences(string? Theme, string? Language);

    /// <summary>The source "Open in editor" puts into the editor, for the language it was run in.</summary>
    private sealed record RestoredRun(string LanguageId, string Source);
}
