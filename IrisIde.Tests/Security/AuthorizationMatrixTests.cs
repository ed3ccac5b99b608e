using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Reflection;
using System.Text.Json;
using IrisIde.Tests.Accounts;
using IrisIde.Web.History;
using IrisIde.Web.Hubs;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using static IrisIde.Tests.Security.MatrixPrincipals;

namespace IrisIde.Tests.Security;

/// <summary>
/// Issue 10's authorization matrix: every HTTP endpoint, page, form, WebSocket and hub method × every
/// principal of <see cref="MatrixPrincipals"/> → exactly what the product answers (the status, the problem
/// title, where a redirect goes, or the hub's reply). Each cell is its own test case. A second test fails
/// when the app maps an endpoint or the hub gains a method that no row covers.
/// To add a surface: a <see cref="Surface"/> in <see cref="Surfaces"/> and its cells in <see cref="Cells"/>.
/// To add a principal (course roles): a name in <see cref="MatrixPrincipals.All"/>, its client in the fixture,
/// and an expectation wherever it differs from a surface's default.
/// </summary>
public sealed class AuthorizationMatrixTests(AuthorizationMatrixFixture fixture) : IClassFixture<AuthorizationMatrixFixture>
{
    private static readonly TimeSpan Timeout = AccountTestClient.Timeout;

    private const string ForeignOrigin = "https://evil.example";

    // What the product answers. Problem details are named by their title, redirects by their target.
    private const string Ok = "200";
    private const string Upgraded = "101";
    private const string NotFound = "404";
    private const string NoAntiforgery = "400";
    private const string FormNotRendered = "400";
    private const string SignInRequired = "401 Sign-in required";
    private const string InvalidToken = "401 Invalid access token";
    private const string ScopeMissing = "403 Scope missing";
    private const string OriginRefused = "403 Origin not allowed";
    private const string InvalidRun = "400 Invalid run request";
    private const string UpgradeUnauthorized = "401";
    private const string UpgradeForbidden = "403";
    private const string HubSignInRequired = "error: sign-in required";
    private const string HubNeedsLanguage = "error: a run needs a language";
    private const string HubNoSuchRun = "HubException: no run";
    private const string HubNotWatchable = "error: " + LiveWatchStreams.NotWatchable;
    private const string HubUnauthorized = "connect 401";
    private const string HubForbidden = "connect 403";

    private static string ToSignIn(string path) => $"302 → /account/signin?returnUrl={Uri.EscapeDataString(path)}";

    private static string Denied(string path) => $"302 → /account/denied?returnUrl={Uri.EscapeDataString(path)}";

    private static string RedirectTo(string target) => $"302 → {target}";

    /// <summary>A user who still has a one-time password is sent to change it first, on pages (not on the run APIs).</summary>
    private static string ToChangePassword(string path) => $"302 → /account/password?returnUrl={Uri.EscapeDataString(path)}";

    /// <summary>
    /// One probe of the app. <see cref="Method"/> and <see cref="Route"/> name the endpoint it reaches as routing
    /// names it (the route pattern), or <c>HUB</c> and the hub method's name; the coverage test matches on them.
    /// </summary>
    public sealed record Surface(string Name, string Method, string Route, Func<AuthorizationMatrixFixture, MatrixPrincipal, Task<string>> Probe);

    private static readonly Surface[] Surfaces =
    [
        Http("GET /api/v1/languages", "GET", "/api/v1/languages", "/api/v1/languages"),
        new("POST /api/v1/runs (unknown language)", "POST", "/api/v1/runs", (f, p) => PostJsonAsync(p, "/api/v1/runs", new { language = "no-such-language", files = new[] { new { name = "main.py", content = "print(1)" } } })),
        new("GET /api/v1/runs/{student A's run}", "GET", "/api/v1/runs/{id}", (f, p) => GetAsync(p, $"/api/v1/runs/{f.StudentARun}")),
        new("GET /api/v1/runs/{student A's run id + 1}", "GET", "/api/v1/runs/{id}", (f, p) => GetAsync(p, $"/api/v1/runs/{Neighbour(f.StudentARun)}")),
        Http("GET /api/v1/runs/{random guid}", "GET", "/api/v1/runs/{id}", $"/api/v1/runs/{Guid.CreateVersion7()}"),
        Http("GET /api/v1/runs/{malformed id}", "GET", "/api/v1/runs/{id}", "/api/v1/runs/..%2F1'%20OR%201=1"),
        new("GET /api/v1/runs/{student A's course run}", "GET", "/api/v1/runs/{id}", (f, p) => GetAsync(p, $"/api/v1/runs/{f.StudentACourseRun}")),

        // The run history: the list (which of the fixture's two runs it shows) and transcripts, by real and guessed ids.
        new("GET /api/v1/runs (list)", "GET", "/api/v1/runs", ListRunsAsync),
        Http("GET /api/v1/runs?pageSize=1000 (over the cap)", "GET", "/api/v1/runs", "/api/v1/runs?pageSize=1000"),
        new("GET /api/v1/runs/{student A's run}/transcript", "GET", "/api/v1/runs/{id}/transcript", (f, p) => GetAsync(p, $"/api/v1/runs/{f.StudentARun}/transcript")),
        new("GET /api/v1/runs/{student A's course run}/transcript", "GET", "/api/v1/runs/{id}/transcript", (f, p) => GetAsync(p, $"/api/v1/runs/{f.StudentACourseRun}/transcript")),
        new("GET /api/v1/runs/{student A's course run id + 1}/transcript", "GET", "/api/v1/runs/{id}/transcript", (f, p) => GetAsync(p, $"/api/v1/runs/{Neighbour(f.StudentACourseRun)}/transcript")),
        Http("GET /api/v1/runs/{random guid}/transcript", "GET", "/api/v1/runs/{id}/transcript", $"/api/v1/runs/{Guid.CreateVersion7()}/transcript"),
        Http("GET /api/v1/runs/{malformed id}/transcript", "GET", "/api/v1/runs/{id}/transcript", "/api/v1/runs/not-a-guid/transcript"),
        new("POST /run-code (unknown language)", "POST", "/run-code", (f, p) => PostJsonAsync(p, "/run-code", new { language = "no-such-language", code = "print(1)" })),
        new("POST /run-code cross-site (text/plain, foreign Origin)", "POST", "/run-code", (f, p) => CrossSitePlainPostAsync(p, "/run-code")),
        new("GET /results/{student A's run}", "GET", "/results/{task_id}", (f, p) => GetAsync(p, $"/results/{f.StudentARun}")),
        new("GET /results/{student A's run id + 1}", "GET", "/results/{task_id}", (f, p) => GetAsync(p, $"/results/{Neighbour(f.StudentARun)}")),
        Http("GET /results/{random guid}", "GET", "/results/{task_id}", $"/results/{Guid.CreateVersion7()}"),
        Http("GET /results/{malformed id}", "GET", "/results/{task_id}", "/results/not-a-guid"),
        Http("GET /healthz", "GET", "/healthz", "/healthz"),
        Http("GET /metrics", "GET", "/metrics", "/metrics"),
        Http("GET /healthz/live", "GET", "/healthz/live", "/healthz/live"),
        new("GET /healthz/ready (once the self-test passed)", "GET", "/healthz/ready", (f, p) => ReadyAsync(p)),
        Http("GET /api/v1/workers", "GET", "/api/v1/workers", "/api/v1/workers"),
        new("POST /account/signout without anti-forgery", "POST", "/account/signout", (f, p) => SignOutAsync(p, withAntiforgery: false)),
        new("POST /account/signout with anti-forgery", "POST", "/account/signout", (f, p) => SignOutAsync(p, withAntiforgery: true)),

        // Pages.
        Http("GET /", "GET", "/", "/"),
        Http("GET /account/signin", "GET", "/account/signin", "/account/signin"),
        Http("GET /account/password", "GET", "/account/password", "/account/password"),
        Http("GET /account/tokens", "GET", "/account/tokens", "/account/tokens"),
        Http("GET /account/sso", "GET", "/account/sso", "/account/sso"),
        Http("GET /account/denied", "GET", "/account/denied", "/account/denied"),
        Http("GET /admin", "GET", "/admin", "/admin"),
        Http("GET /admin/users", "GET", "/admin/users", "/admin/users"),
        Http("GET /admin/audit", "GET", "/admin/audit", "/admin/audit"),
        Http("GET /admin/runs", "GET", "/admin/runs", "/admin/runs"),
        Http("GET /setup/{wrong token}", "GET", "/setup/{Token}", "/setup/not-the-set-up-token"),
        Http("GET /not-found", "GET", "/not-found", "/not-found"),

        // Their forms, posted as a browser posts them: with the anti-forgery token of this principal's own session, or without.
        .. Form("/account/signin", "/account/signin", "signin", [new("Input.Email", "nobody@example.edu"), new("Input.Password", "not the password at all")]),
        .. Form("/account/password", "/account/password", "change-password", []),
        .. Form("/account/tokens", "/account/tokens", "create-token", []),
        .. Form("/account/sso", "/account/sso", "unlink-sso", []),
        .. Form("/admin/users", "/admin/users", "add-user", []),
        .. Form("/setup/{Token}", "/setup/not-the-set-up-token", "setup", []),
        // An admin action on another user: students must not reach it, whatever id they guess.
        new("POST /admin/users user-action (enable student B) with anti-forgery", "POST", "/admin/users", (f, p) => PostFormAsync(p, "/admin/users", "user-action", [new("Act.Command", $"enable::{f.StudentBId}")], withAntiforgery: true)),
        // Another user's token, revoked by id from the tokens page: only its owner may.
        new("POST /account/tokens revoke-token (student B's token id) with anti-forgery", "POST", "/account/tokens", (f, p) => RevokeAsync(p, f.StudentBSpareToken)),
        // Pages without a form take no POST either.
        .. FormlessPost("/"),
        .. FormlessPost("/account/denied"),
        .. FormlessPost("/admin/audit"),
        .. FormlessPost("/admin"),
        .. FormlessPost("/admin/runs"),
        .. FormlessPost("/live"),
        new("POST /live/" + GuessedRunId + " without a form", "POST", "/live/{RunId}", (f, p) => PostFormAsync(p, "/live/" + GuessedRunId, null, [], withAntiforgery: true)),
        .. FormlessPost("/not-found"),

        // Courses: the list and its join form; one course's page and its staff forms, by its id and by guessed ids.
        Http("GET /courses", "GET", "/courses", "/courses"),
        Http("GET /live", "GET", "/live", "/live"),
        Http("GET /live/{guessed run}", "GET", "/live/{RunId}", "/live/" + GuessedRunId),
        .. Form("/courses", "/courses", "join-course", [new("Join.Code", "aaaa-bbbb-cccc")]),
        new("GET /courses/{the course}", "GET", "/courses/{Id:guid}", (f, p) => CourseAsync(f, GetAsync(p, $"/courses/{f.CourseId}"))),
        new("GET /courses/{the course id + 1}", "GET", "/courses/{Id:guid}", (f, p) => CourseAsync(f, GetAsync(p, $"/courses/{Neighbour(f.CourseId)}"))),
        new("GET /courses/{random guid}", "GET", "/courses/{Id:guid}", (f, p) => CourseAsync(f, GetAsync(p, $"/courses/{GuessedCourse}"))),
        new("POST /courses/{the course} new join code without anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => CourseAsync(f, PostFormAsync(p, $"/courses/{f.CourseId}", "course-action", [new("Action.Command", "regenerate")], withAntiforgery: false))),
        new("POST /courses/{the course} new join code with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormAsync(f, p, $"/courses/{f.CourseId}", "course-action", new("Action.Command", "regenerate"))),
        new("POST /courses/{the course} student A's role (unchanged) with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormAsync(f, p, $"/courses/{f.CourseId}", "member-action", new("Member.Command", $"role:Student:{f.StudentAId}"))),
        new("POST /courses/{random guid} new join code with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormAsync(f, p, $"/courses/{GuessedCourse}", "course-action", new("Action.Command", "regenerate"))),
        // Editing the course (to the name, code and term it has, so the other cells see it unchanged) and un-archiving
        // the archived one (archived again before each cell, so each starts alike).
        new("POST /courses/{the course} name, code and term (unchanged) with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormFieldsAsync(f, p, $"/courses/{f.CourseId}", "course-details", SameDetails)),
        new("POST /courses/{random guid} name, code and term with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormFieldsAsync(f, p, $"/courses/{GuessedCourse}", "course-details", SameDetails)),
        new("POST /courses/{the archived course} un-archive without anti-forgery", "POST", "/courses/{Id:guid}", async (f, p) =>
        {
            await f.ArchiveAgainAsync();
            return await CourseAsync(f, PostFormAsync(p, $"/courses/{f.ArchivedCourseId}", "course-unarchive", [], withAntiforgery: false));
        }),
        new("POST /courses/{the archived course} un-archive with anti-forgery", "POST", "/courses/{Id:guid}", async (f, p) =>
        {
            await f.ArchiveAgainAsync();
            return await StaffFormFieldsAsync(f, p, $"/courses/{f.ArchivedCourseId}", "course-unarchive", []);
        }),
        new("POST /courses/{random guid} un-archive with anti-forgery", "POST", "/courses/{Id:guid}", (f, p) => StaffFormFieldsAsync(f, p, $"/courses/{GuessedCourse}", "course-unarchive", [])),

        // The run history's pages: My runs, one run by real and guessed ids, a course's runs, its CSV export, a student's page.
        Http("GET /runs", "GET", "/runs", "/runs"),
        .. FormlessPost("/runs"),
        new("GET /runs/{student A's run}", "GET", "/runs/{Id:guid}", (f, p) => NamedAsync(f, GetAsync(p, $"/runs/{f.StudentARun}"))),
        new("GET /runs/{student A's course run}", "GET", "/runs/{Id:guid}", (f, p) => NamedAsync(f, GetAsync(p, $"/runs/{f.StudentACourseRun}"))),
        new("GET /runs/{student A's course run id + 1}", "GET", "/runs/{Id:guid}", (f, p) => NamedAsync(f, GetAsync(p, $"/runs/{Neighbour(f.StudentACourseRun)}"))),
        new("GET /runs/{random guid}", "GET", "/runs/{Id:guid}", (f, p) => NamedAsync(f, GetAsync(p, $"/runs/{GuessedRun}"))),
        new("POST /runs/{student A's course run} without a form", "POST", "/runs/{Id:guid}", (f, p) => NamedAsync(f, PostFormAsync(p, $"/runs/{f.StudentACourseRun}", null, [], withAntiforgery: true))),
        new("GET /courses/{the course}/runs", "GET", "/courses/{Id:guid}/runs", (f, p) => NamedAsync(f, GetAsync(p, $"/courses/{f.CourseId}/runs"))),
        new("GET /courses/{the course id + 1}/runs", "GET", "/courses/{Id:guid}/runs", (f, p) => NamedAsync(f, GetAsync(p, $"/courses/{Neighbour(f.CourseId)}/runs"))),
        new("GET /courses/{random guid}/runs", "GET", "/courses/{Id:guid}/runs", (f, p) => NamedAsync(f, GetAsync(p, $"/courses/{GuessedCourse}/runs"))),
        new("POST /courses/{the course}/runs without a form", "POST", "/courses/{Id:guid}/runs", (f, p) => NamedAsync(f, PostFormAsync(p, $"/courses/{f.CourseId}/runs", null, [], withAntiforgery: true))),
        new("GET /courses/{the course}/runs.csv", "GET", "/courses/{id:guid}/runs.csv", (f, p) => NamedAsync(f, CsvAsync(f, p, $"/courses/{f.CourseId}/runs.csv"))),
        new("GET /courses/{random guid}/runs.csv", "GET", "/courses/{id:guid}/runs.csv", (f, p) => NamedAsync(f, CsvAsync(f, p, $"/courses/{GuessedCourse}/runs.csv"))),
        new("GET /courses/{the course}/students/{student A}", "GET", "/courses/{Id:guid}/students/{UserId}", (f, p) => NamedAsync(f, GetAsync(p, $"/courses/{f.CourseId}/students/{f.StudentAId}"))),
        new("GET /courses/{the course}/students/{student B, not in it}", "GET", "/courses/{Id:guid}/students/{UserId}", (f, p) => NamedAsync(f, GetAsync(p, $"/courses/{f.CourseId}/students/{f.StudentBId}"))),
        new("POST /courses/{the course}/students/{student A} without a form", "POST", "/courses/{Id:guid}/students/{UserId}", (f, p) => NamedAsync(f, PostFormAsync(p, $"/courses/{f.CourseId}/students/{f.StudentAId}", null, [], withAntiforgery: true))),

        // Single sign-on (the provider is unreachable, so a started flow comes back with "unavailable").
        new("POST /account/signin/oidc without anti-forgery", "POST", "/account/signin/oidc", (f, p) => PostFormAsync(p, "/account/signin/oidc", null, [new("returnUrl", "/")], withAntiforgery: false)),
        new("POST /account/signin/oidc with anti-forgery", "POST", "/account/signin/oidc", (f, p) => PostFormAsync(p, "/account/signin/oidc", null, [new("returnUrl", "/")], withAntiforgery: true)),
        Http("GET /account/signin/oidc/done (no provider answer)", "GET", "/account/signin/oidc/done", "/account/signin/oidc/done?returnUrl=%2F"),
        new("POST /account/sso/link without anti-forgery", "POST", "/account/sso/link", (f, p) => PostFormAsync(p, "/account/sso/link", null, [], withAntiforgery: false)),
        new("POST /account/sso/link with anti-forgery", "POST", "/account/sso/link", (f, p) => PostFormAsync(p, "/account/sso/link", null, [], withAntiforgery: true)),
        Http("GET /account/sso/link/done (no provider answer)", "GET", "/account/sso/link/done", "/account/sso/link/done"),
        Http("GET /signin-oidc (forged callback)", "GET", "/signin-oidc", "/signin-oidc?code=forged&state=forged"),

        // WebSockets: refused before the upgrade, or upgraded (and closed at once: nothing runs).
        new("GET /ws upgrade", "GET", "/ws", (f, p) => UpgradeAsync(f, p, "/ws", origin: null, tokenInQuery: false)),
        new("GET /run upgrade", "GET", "/run", (f, p) => UpgradeAsync(f, p, "/run", origin: null, tokenInQuery: false)),
        new("GET /ws upgrade, token in ?access_token=", "GET", "/ws", (f, p) => UpgradeAsync(f, p, "/ws", origin: null, tokenInQuery: true)),
        new("GET /run upgrade, token in ?access_token=", "GET", "/run", (f, p) => UpgradeAsync(f, p, "/run", origin: null, tokenInQuery: true)),
        new("GET /ws upgrade from this site's Origin", "GET", "/ws", (f, p) => UpgradeAsync(f, p, "/ws", origin: $"http://{f.App.BaseAddress.Authority}", tokenInQuery: false)),
        new("GET /ws upgrade from a foreign Origin", "GET", "/ws", (f, p) => UpgradeAsync(f, p, "/ws", ForeignOrigin, tokenInQuery: false)),
        new("GET /run upgrade from a foreign Origin", "GET", "/run", (f, p) => UpgradeAsync(f, p, "/run", ForeignOrigin, tokenInQuery: false)),

        // The execution hub: negotiate, the connection itself, and each method.
        new("POST /hubs/execution/negotiate", "POST", ExecutionHubEndpoints.Path + "/negotiate", (f, p) => NegotiateAsync(p, origin: null)),
        new("POST /hubs/execution/negotiate from a foreign Origin", "POST", ExecutionHubEndpoints.Path + "/negotiate", (f, p) => NegotiateAsync(p, ForeignOrigin)),
        new("hub StartRun (no language)", "HUB", nameof(ExecutionHub.StartRun), (f, p) => HubAsync(f, p, origin: null, StartRunAsync)),
        new("hub StartRun from a foreign Origin", "HUB", nameof(ExecutionHub.StartRun), (f, p) => HubAsync(f, p, ForeignOrigin, StartRunAsync)),
        new("hub SendInput (guessed run id)", "HUB", nameof(ExecutionHub.SendInput), (f, p) => HubAsync(f, p, null, c => InvokeAsync(c, nameof(ExecutionHub.SendInput), GuessedRunId, "x\n"))),
        new("hub SendEof (guessed run id)", "HUB", nameof(ExecutionHub.SendEof), (f, p) => HubAsync(f, p, null, c => InvokeAsync(c, nameof(ExecutionHub.SendEof), GuessedRunId))),
        new("hub Interrupt (guessed run id)", "HUB", nameof(ExecutionHub.Interrupt), (f, p) => HubAsync(f, p, null, c => InvokeAsync(c, nameof(ExecutionHub.Interrupt), GuessedRunId))),
        new("hub Stop (guessed run id)", "HUB", nameof(ExecutionHub.Stop), (f, p) => HubAsync(f, p, null, c => InvokeAsync(c, nameof(ExecutionHub.Stop), GuessedRunId))),
        new("hub WatchRun (guessed run id)", "HUB", nameof(ExecutionHub.WatchRun), (f, p) => HubAsync(f, p, null, c => FirstStreamedAsync(c, nameof(ExecutionHub.WatchRun), GuessedRunId))),
        // The connection endpoint's other transports (long polling, server-sent events) with a connection id that is not theirs.
        Http("GET /hubs/execution?id={guessed connection}", "GET", ExecutionHubEndpoints.Path, $"{ExecutionHubEndpoints.Path}?id=guessed-connection-id"),
        new("POST /hubs/execution?id={guessed connection}", "POST", ExecutionHubEndpoints.Path, (f, p) => SendAsync(p, HttpMethod.Post, $"{ExecutionHubEndpoints.Path}?id=guessed-connection-id")),
        new("DELETE /hubs/execution?id={guessed connection}", "DELETE", ExecutionHubEndpoints.Path, (f, p) => SendAsync(p, HttpMethod.Delete, $"{ExecutionHubEndpoints.Path}?id=guessed-connection-id")),
    ];

    /// <summary>
    /// The expected answer of each surface to each principal: a default and the principals that differ. A row
    /// left out here is a test that fails (every surface must be in the table).
    /// </summary>
    private static IEnumerable<(string Surface, string Principal, string Expected)> Cells()
    {
        // Run APIs: anonymous is refused (the product default), a cookie may do what its role allows, a token
        // what its scopes name; a bad token is refused outright.
        (string, string)[] runAccess(string allowed, string forReaders) =>
        [
            (Anonymous, SignInRequired), (DisabledCookie, SignInRequired),
            (TokenRuns, allowed), (TokenRunsRead, forReaders), (TokenB, allowed),
            .. BadTokens.Select(t => (t, InvalidToken)),
        ];
        (string, string)[] readRun(string forB) =>
        [
            (Anonymous, SignInRequired), (DisabledCookie, SignInRequired),
            (StudentA, Ok), (StudentB, forB), (Instructor, forB), (Admin, Ok), (MustChangePassword, forB),
            (TokenRuns, ScopeMissing), (TokenRunsRead, Ok), (TokenB, forB),
            .. BadTokens.Select(t => (t, InvalidToken)),
        ];
        // Tokens open the run APIs only: on any other path even a good one is refused.
        var tokensRefused = Tokens.Select(t => (t, InvalidToken)).ToArray();

        foreach (var cell in Row("GET /api/v1/languages", Ok, [.. BadTokens.Select(t => (t, InvalidToken))]))
        {
            yield return cell;
        }

        foreach (var surface in new[] { "POST /api/v1/runs (unknown language)", "POST /run-code (unknown language)" })
        {
            foreach (var cell in Row(surface, InvalidRun, runAccess(InvalidRun, ScopeMissing)))
            {
                yield return cell;
            }
        }

        // A cross-site page cannot post JSON without a preflight; a simple text/plain post is not a run request.
        // (SameSite=Lax keeps the cookie off it in a browser anyway.)
        // The body is refused before the caller is looked at (a bad token still gets its 401 first).
        foreach (var cell in Row("POST /run-code cross-site (text/plain, foreign Origin)", "415 Unsupported Media Type", [.. BadTokens.Select(t => (t, InvalidToken))]))
        {
            yield return cell;
        }

        foreach (var api in new[] { "/api/v1/runs", "/results" })
        {
            foreach (var cell in Row($"GET {api}/{{student A's run}}", Ok, readRun(NotFound)))
            {
                yield return cell;
            }

            foreach (var guessed in new[] { "{student A's run id + 1}", "{random guid}", "{malformed id}" })
            {
                foreach (var cell in Row($"GET {api}/{guessed}", NotFound, readRun(NotFound).Select(c => c.Item2 == Ok ? (c.Item1, NotFound) : c).ToArray()))
                {
                    yield return cell;
                }
            }
        }

        // Student A's course run: also its course's instructor and teaching assistant (by cookie; the course token
        // lacks runs:read); another course's instructor no more than any stranger.
        (string, string)[] courseRun(string forB) => [.. readRun(forB), (CourseInstructor, Ok), (CourseTa, Ok)];
        foreach (var cell in Row("GET /api/v1/runs/{student A's course run}", Ok, courseRun(NotFound)))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /api/v1/runs/{student A's course run}/transcript", Ok, courseRun(NotFound)))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /api/v1/runs/{student A's run}/transcript", Ok, readRun(NotFound)))
        {
            yield return cell;
        }

        foreach (var guessed in new[] { "{student A's course run id + 1}", "{random guid}", "{malformed id}" })
        {
            foreach (var cell in Row($"GET /api/v1/runs/{guessed}/transcript", NotFound, readRun(NotFound).Select(c => c.Item2 == Ok ? (c.Item1, NotFound) : c).ToArray()))
            {
                yield return cell;
            }
        }

        const string bothRuns = "200 run, course run";
        const string noRuns = "200 none";
        foreach (var cell in Row("GET /api/v1/runs (list)", noRuns,
        [
            .. readRun(noRuns).Select(c => c.Item2 == Ok ? (c.Item1, bothRuns) : c),
            (CourseInstructor, "200 course run"), (CourseTa, "200 course run"),
        ]))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /api/v1/runs?pageSize=1000 (over the cap)", "400 Invalid runs query", readRun("400 Invalid runs query").Select(c => c.Item2 == Ok ? (c.Item1, "400 Invalid runs query") : c).ToArray()))
        {
            yield return cell;
        }

        foreach (var probe in new[] { "GET /healthz", "GET /healthz/live", "GET /healthz/ready (once the self-test passed)" })
        {
            foreach (var cell in Row(probe, Ok, tokensRefused))
            {
                yield return cell;
            }
        }

        // The worker list: admins signed in with the cookie; a good token (any scope) is no admin.
        foreach (var cell in Row("GET /api/v1/workers", "403 Admins only",
        [
            (Anonymous, SignInRequired), (DisabledCookie, SignInRequired), (Admin, Ok),
            .. BadTokens.Select(t => (t, InvalidToken)),
        ]))
        {
            yield return cell;
        }

        // Metrics: admins by cookie only (no scrape token or allowed network is configured here). An access token is no
        // scrape token: as a bearer on /metrics it is a wrong scrape token, whoever it belongs to.
        foreach (var cell in Row("GET /metrics", NotFound, [(Admin, Ok), .. Tokens.Select(t => (t, "401 Invalid scrape token"))]))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /account/signout without anti-forgery", NoAntiforgery, tokensRefused))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /account/signout with anti-forgery", RedirectTo("/"), tokensRefused))
        {
            yield return cell;
        }

        // Pages: open to everyone, to signed-in users, or to admins.
        // The denied page says so with its status; a wrong set-up link is a page that does not exist.
        foreach (var (page, status) in new[] { ("/", Ok), ("/account/signin", Ok), ("/account/denied", "403"), ("/not-found", Ok), ("/setup/{wrong token}", NotFound) })
        {
            foreach (var cell in Row($"GET {page}", status, [.. tokensRefused, (MustChangePassword, page == "/" ? ToChangePassword(page) : status)]))
            {
                yield return cell;
            }
        }

        foreach (var page in new[] { "/account/password", "/account/tokens", "/account/sso" })
        {
            var forMustChange = page == "/account/password" ? Ok : ToChangePassword(page);
            foreach (var cell in Row($"GET {page}", Ok, [.. tokensRefused, (Anonymous, ToSignIn(page)), (DisabledCookie, ToSignIn(page)), (MustChangePassword, forMustChange)]))
            {
                yield return cell;
            }
        }

        (string, string)[] adminOnly(string path, string forAdmin) =>
        [
            .. tokensRefused, (Anonymous, ToSignIn(path)), (DisabledCookie, ToSignIn(path)),
            (StudentA, Denied(path)), (StudentB, Denied(path)), (Instructor, Denied(path)), (Admin, forAdmin), (MustChangePassword, Denied(path)),
        ];
        foreach (var page in new[] { "/admin", "/admin/users", "/admin/audit", "/admin/runs" })
        {
            foreach (var cell in Row($"GET {page}", Ok, adminOnly(page, Ok)))
            {
                yield return cell;
            }
        }

        // Forms: authorization first (sign-in page or denied), then the anti-forgery token (400 without it).
        // A form that the page does not render for this request (the set-up form behind a wrong link, the unlink
        // form of an account without single sign-on) cannot be posted either: 400 with or without the token.
        foreach (var (page, withToken) in new[] { ("/account/signin", Ok), ("/setup/{Token}", FormNotRendered) })
        {
            foreach (var cell in Row($"POST {page} form without anti-forgery", NoAntiforgery, tokensRefused))
            {
                yield return cell;
            }

            foreach (var cell in Row($"POST {page} form with anti-forgery", withToken, tokensRefused))
            {
                yield return cell;
            }
        }

        foreach (var (page, withToken) in new[] { ("/account/password", Ok), ("/account/tokens", Ok), ("/account/sso", FormNotRendered) })
        {
            (string, string)[] signedIn =
            [
                .. tokensRefused, (Anonymous, ToSignIn(page)), (DisabledCookie, ToSignIn(page)),
                (MustChangePassword, page == "/account/password" ? withToken : ToChangePassword(page)),
            ];
            foreach (var cell in Row($"POST {page} form without anti-forgery", NoAntiforgery, [.. signedIn.Where(c => c.Item1 != MustChangePassword), (MustChangePassword, page == "/account/password" ? NoAntiforgery : ToChangePassword(page))]))
            {
                yield return cell;
            }

            foreach (var cell in Row($"POST {page} form with anti-forgery", withToken, signedIn))
            {
                yield return cell;
            }
        }

        // The form is on the page only for a user with tokens (admin and instructor have none here).
        foreach (var cell in Row("POST /account/tokens revoke-token (student B's token id) with anti-forgery", "200 no such token", [.. tokensRefused, (Anonymous, ToSignIn("/account/tokens")), (DisabledCookie, ToSignIn("/account/tokens")), (StudentB, "200 revoked"), (CourseTa, FormNotRendered), (Instructor, FormNotRendered), (CourseInstructor, "200 no such token"), (Admin, FormNotRendered), (MustChangePassword, ToChangePassword("/account/tokens"))]))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /admin/users form without anti-forgery", NoAntiforgery, adminOnly("/admin/users", NoAntiforgery)))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /admin/users form with anti-forgery", Ok, adminOnly("/admin/users", Ok)))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /admin/users user-action (enable student B) with anti-forgery", Ok, adminOnly("/admin/users", Ok)))
        {
            yield return cell;
        }

        foreach (var page in new[] { "/", "/account/denied", "/not-found" })
        {
            foreach (var cell in Row($"POST {page} without a form", NoAntiforgery, [.. tokensRefused, (MustChangePassword, page == "/" ? ToChangePassword(page) : NoAntiforgery)]))
            {
                yield return cell;
            }
        }

        foreach (var cell in Row("POST /admin/audit without a form", NoAntiforgery, adminOnly("/admin/audit", NoAntiforgery)))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /admin without a form", NoAntiforgery, adminOnly("/admin", NoAntiforgery)))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /admin/runs without a form", NoAntiforgery, adminOnly("/admin/runs", NoAntiforgery)))
        {
            yield return cell;
        }

        // Courses. Signed-in users list their courses and join by code; a course's page exists only for its members
        // and admins (anyone else gets the 404 of an id that does not exist), and only its instructors and admins
        // may use its staff forms: the others are not shown them, so a forged post gets 400.
        (string, string)[] signedInPage(string path) =>
        [
            .. tokensRefused, (Anonymous, ToSignIn(path)), (DisabledCookie, ToSignIn(path)), (MustChangePassword, ToChangePassword(path)),
        ];
        foreach (var cell in Row("GET /courses", Ok, signedInPage("/courses")))
        {
            yield return cell;
        }

        // Live watch: any signed-in user may open the pages; what they list or show is the watch policy's (LiveWatchTests).
        foreach (var cell in Row("GET /live", Ok, signedInPage("/live")))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /live/{guessed run}", Ok, signedInPage("/live/" + GuessedRunId)))
        {
            yield return cell;
        }

        foreach (var page in new[] { "/live", "/live/" + GuessedRunId })
        {
            foreach (var cell in Row($"POST {page} without a form", NoAntiforgery, signedInPage(page)))
            {
                yield return cell;
            }
        }

        foreach (var cell in Row("POST /courses form without anti-forgery", NoAntiforgery, signedInPage("/courses")))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /courses form with anti-forgery", Ok, signedInPage("/courses")))
        {
            yield return cell;
        }

        (string, string)[] members(string path, string forMembers, string forStaff) =>
        [
            .. signedInPage(path), (StudentA, forMembers), (CourseTa, forMembers), (CourseInstructor, forStaff), (Admin, forStaff),
        ];
        foreach (var cell in Row("GET /courses/{the course}", NotFound, members("/courses/{course}", Ok, Ok)))
        {
            yield return cell;
        }

        foreach (var (surface, path) in new[] { ("GET /courses/{the course id + 1}", "/courses/{course+1}"), ("GET /courses/{random guid}", "/courses/{guessed}") })
        {
            foreach (var cell in Row(surface, NotFound, signedInPage(path)))
            {
                yield return cell;
            }
        }

        foreach (var cell in Row("POST /courses/{the course} new join code without anti-forgery", NoAntiforgery, signedInPage("/courses/{course}")))
        {
            yield return cell;
        }

        // The roster's member form is on the teaching assistant's page too (read-only buttons aside): the service
        // still refuses them. Anyone outside the course posts to a page that renders no form at all.
        foreach (var (surface, forTa) in new[]
        {
            ("POST /courses/{the course} new join code with anti-forgery", FormNotRendered),
            ("POST /courses/{the course} student A's role (unchanged) with anti-forgery", "200 refused"),
            ("POST /courses/{the course} name, code and term (unchanged) with anti-forgery", FormNotRendered),
        })
        {
            foreach (var cell in Row(surface, FormNotRendered, [(CourseTa, forTa), .. members("/courses/{course}", FormNotRendered, "200 done")]))
            {
                yield return cell;
            }
        }

        foreach (var surface in new[] { "POST /courses/{random guid} new join code with anti-forgery", "POST /courses/{random guid} name, code and term with anti-forgery", "POST /courses/{random guid} un-archive with anti-forgery" })
        {
            foreach (var cell in Row(surface, FormNotRendered, signedInPage("/courses/{guessed}")))
            {
                yield return cell;
            }
        }

        // An archived course's page shows its members the course, and only its instructors and admins the un-archive form.
        foreach (var cell in Row("POST /courses/{the archived course} un-archive without anti-forgery", NoAntiforgery, signedInPage("/courses/{archived}")))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /courses/{the archived course} un-archive with anti-forgery", FormNotRendered, members("/courses/{archived}", FormNotRendered, "200 done")))
        {
            yield return cell;
        }

        // The run history's pages. My runs: every signed-in user (their own runs). A run's page: whoever may read the
        // run by the API's rule, the 404 of an unknown id for everyone else. A course's runs, their CSV and a student's
        // page: the course's TA, instructor and admins; its students and everyone else get the 404 of an unknown course.
        foreach (var cell in Row("GET /runs", Ok, signedInPage("/runs")))
        {
            yield return cell;
        }

        foreach (var (surface, path) in new[] { ("POST /runs without a form", "/runs"), ("POST /runs/{student A's course run} without a form", "/runs/{course run}"), ("POST /courses/{the course}/runs without a form", "/courses/{course}/runs"), ("POST /courses/{the course}/students/{student A} without a form", "/courses/{course}/students/{student A}") })
        {
            foreach (var cell in Row(surface, NoAntiforgery, signedInPage(path)))
            {
                yield return cell;
            }
        }

        foreach (var cell in Row("GET /runs/{student A's run}", NotFound, [.. signedInPage("/runs/{run}"), (StudentA, Ok), (Admin, Ok)]))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /runs/{student A's course run}", NotFound, [.. signedInPage("/runs/{course run}"), (StudentA, Ok), (Admin, Ok), (CourseInstructor, Ok), (CourseTa, Ok)]))
        {
            yield return cell;
        }

        foreach (var (surface, path) in new[] { ("GET /runs/{student A's course run id + 1}", "/runs/{course run+1}"), ("GET /runs/{random guid}", "/runs/{guessed run}") })
        {
            foreach (var cell in Row(surface, NotFound, signedInPage(path)))
            {
                yield return cell;
            }
        }

        (string, string)[] courseStaff(string path, string forStaff) =>
            [.. signedInPage(path), (CourseInstructor, forStaff), (CourseTa, forStaff), (Admin, forStaff)];
        foreach (var cell in Row("GET /courses/{the course}/runs", NotFound, courseStaff("/courses/{course}/runs", Ok)))
        {
            yield return cell;
        }

        foreach (var (surface, path) in new[] { ("GET /courses/{the course id + 1}/runs", "/courses/{course+1}/runs"), ("GET /courses/{random guid}/runs", "/courses/{guessed}/runs") })
        {
            foreach (var cell in Row(surface, NotFound, signedInPage(path)))
            {
                yield return cell;
            }
        }

        // The export is a download, not a page: a plain 401 without a sign-in (no redirect), and, as the run APIs, no
        // detour to the password page for a one-time password (such a user is no course's staff here: 404).
        (string, string)[] download = [.. tokensRefused, (Anonymous, "401"), (DisabledCookie, "401")];
        foreach (var cell in Row("GET /courses/{the course}/runs.csv", NotFound, [.. download, (CourseInstructor, "200 csv: course run"), (CourseTa, "200 csv: course run"), (Admin, "200 csv: course run")]))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /courses/{random guid}/runs.csv", NotFound, download))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /courses/{the course}/students/{student A}", NotFound, courseStaff("/courses/{course}/students/{student A}", Ok)))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /courses/{the course}/students/{student B, not in it}", NotFound, signedInPage("/courses/{course}/students/{student B}")))
        {
            yield return cell;
        }

        // Single sign-on.
        foreach (var cell in Row("POST /account/signin/oidc without anti-forgery", NoAntiforgery, tokensRefused))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /account/signin/oidc with anti-forgery", RedirectTo("/account/signin?sso=unavailable"), tokensRefused))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /account/signin/oidc/done (no provider answer)", RedirectTo("/account/signin?sso=failed"), tokensRefused))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /signin-oidc (forged callback)", RedirectTo("/account/signin?sso=failed"), tokensRefused))
        {
            yield return cell;
        }

        var link = "/account/sso/link";
        foreach (var cell in Row("POST /account/sso/link without anti-forgery", NoAntiforgery, [.. tokensRefused, (Anonymous, ToSignIn(link)), (DisabledCookie, ToSignIn(link))]))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /account/sso/link with anti-forgery", RedirectTo("/account/sso?link=unavailable"), [.. tokensRefused, (Anonymous, ToSignIn(link)), (DisabledCookie, ToSignIn(link))]))
        {
            yield return cell;
        }

        foreach (var cell in Row("GET /account/sso/link/done (no provider answer)", RedirectTo("/account/sso?link=failed"), [.. tokensRefused, (Anonymous, ToSignIn(link + "/done")), (DisabledCookie, ToSignIn(link + "/done"))]))
        {
            yield return cell;
        }

        // WebSockets.
        (string, string)[] upgrade =
        [
            (Anonymous, UpgradeUnauthorized), (DisabledCookie, UpgradeUnauthorized), (TokenRunsRead, UpgradeForbidden),
            .. BadTokens.Select(t => (t, UpgradeUnauthorized)),
        ];
        foreach (var surface in new[] { "GET /ws upgrade", "GET /run upgrade", "GET /ws upgrade from this site's Origin" })
        {
            foreach (var cell in Row(surface, Upgraded, upgrade))
            {
                yield return cell;
            }
        }

        foreach (var surface in new[] { "GET /ws upgrade, token in ?access_token=", "GET /run upgrade, token in ?access_token=" })
        {
            foreach (var token in Tokens)
            {
                yield return (surface, token, upgrade.FirstOrDefault(u => u.Item1 == token).Item2 ?? Upgraded);
            }
        }

        // Cross-site WebSocket hijacking: refused before anything else looks at the request.
        foreach (var surface in new[] { "GET /ws upgrade from a foreign Origin", "GET /run upgrade from a foreign Origin" })
        {
            foreach (var cell in Row(surface, UpgradeForbidden, []))
            {
                yield return cell;
            }
        }

        // The hub: anyone may connect (the page's connection opens before sign-in matters), only signed-in
        // callers run, a token needs the runs scope to connect at all, and a run is steered only by its connection.
        (string, string)[] hub = [(TokenRunsRead, HubForbidden), .. BadTokens.Select(t => (t, HubUnauthorized))];
        foreach (var cell in Row("POST /hubs/execution/negotiate", Ok, [(TokenRunsRead, ScopeMissing), .. BadTokens.Select(t => (t, InvalidToken))]))
        {
            yield return cell;
        }

        foreach (var cell in Row("POST /hubs/execution/negotiate from a foreign Origin", OriginRefused, []))
        {
            yield return cell;
        }

        foreach (var cell in Row("hub StartRun (no language)", HubNeedsLanguage, [.. hub, (Anonymous, HubSignInRequired), (DisabledCookie, HubSignInRequired)]))
        {
            yield return cell;
        }

        foreach (var cell in Row("hub StartRun from a foreign Origin", HubForbidden, []))
        {
            yield return cell;
        }

        foreach (var method in new[] { "SendInput", "SendEof", "Interrupt", "Stop" })
        {
            foreach (var cell in Row($"hub {method} (guessed run id)", HubNoSuchRun, hub))
            {
                yield return cell;
            }
        }

        // Live watch: whoever may connect is told the same for a run that is not going and one they may not watch.
        foreach (var cell in Row("hub WatchRun (guessed run id)", HubNotWatchable, hub))
        {
            yield return cell;
        }

        (string, string)[] transports = [(TokenRunsRead, ScopeMissing), .. BadTokens.Select(t => (t, InvalidToken))];
        foreach (var method in new[] { "GET", "POST", "DELETE" })
        {
            foreach (var cell in Row($"{method} /hubs/execution?id={{guessed connection}}", NotFound, transports))
            {
                yield return cell;
            }
        }
    }

    /// <summary>A surface's cell for every principal: <paramref name="otherwise"/> unless <paramref name="except"/> names it.</summary>
    private static IEnumerable<(string Surface, string Principal, string Expected)> Row(string surface, string otherwise, (string Principal, string Expected)[] except)
    {
        string? Named(string principal) => except.FirstOrDefault(e => e.Principal == principal).Expected;
        return All.Select(p => (surface, p, Named(p) ?? (Twin.TryGetValue(p, out var twin) ? Named(twin) : null) ?? otherwise));
    }

    public static TheoryData<string, string, string> Matrix()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var (surface, principal, expected) in Cells())
        {
            data.Add(surface, principal, expected);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Cell(string surface, string principal, string expected)
    {
        var probe = Surfaces.Single(s => s.Name == surface);

        var actual = await probe.Probe(fixture, fixture[principal]).WaitAsync(Timeout);

        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Every_surface_has_a_cell_for_every_principal_and_every_cell_a_surface()
    {
        var cells = Cells().ToList();
        Assert.Empty(cells.Select(c => c.Surface).Except(Surfaces.Select(s => s.Name)));
        Assert.Empty(cells.GroupBy(c => (c.Surface, c.Principal)).Where(g => g.Count() > 1).Select(g => g.Key));
        foreach (var surface in Surfaces)
        {
            var principals = cells.Where(c => c.Surface == surface.Name).Select(c => c.Principal).ToHashSet();
            // The ?access_token= rows are about tokens; everything else is asked of everyone.
            var expected = surface.Name.Contains("access_token", StringComparison.Ordinal) ? Tokens : All;
            Assert.True(expected.All(principals.Contains), $"{surface.Name}: no cell for {string.Join(", ", expected.Except(principals))}");
        }
    }

    [Fact]
    public void Every_endpoint_and_hub_method_of_the_app_is_in_the_matrix()
    {
        var covered = Surfaces.Select(s => (s.Method, s.Route)).ToHashSet();
        var missing = new List<string>();
        foreach (var endpoint in fixture.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var route = Normalize(endpoint.RoutePattern.RawText ?? "");
            if (IsFramework(endpoint, route))
            {
                continue;
            }

            if (endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods is not { } methods)
            {
                // Mapped for any method (the WebSocket endpoints, the hub's, health checks): one row of any method covers it.
                if (!covered.Any(c => c.Route == route))
                {
                    missing.Add($"(any method) {route}");
                }

                continue;
            }

            // HEAD is answered as GET is (same endpoint, same authorization), so GET rows cover it.
            missing.AddRange(methods.Where(m => m != "HEAD" && !covered.Contains((m, route))).Select(m => $"{m} {route}"));
        }

        var hubMethods = typeof(ExecutionHub).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.GetBaseDefinition().DeclaringType == typeof(ExecutionHub));
        missing.AddRange(hubMethods.Where(m => !covered.Contains(("HUB", m.Name))).Select(m => $"hub method {m.Name}"));

        Assert.True(missing.Count == 0, "not in the authorization matrix: " + string.Join("; ", missing));
    }

    /// <summary>
    /// Endpoints that are not product surfaces: Blazor's circuit hub and framework files, and static assets (one
    /// endpoint per file under wwwroot and per collocated module or stylesheet; public files, no authorization).
    /// </summary>
    private static bool IsFramework(RouteEndpoint endpoint, string route) =>
        route.StartsWith("/_blazor", StringComparison.Ordinal)
        || route.StartsWith("/_framework", StringComparison.Ordinal)
        || route.StartsWith("/_content", StringComparison.Ordinal)
        || endpoint.Metadata.Any(m => m.GetType().Name == "StaticAssetDescriptor")
        // MapStaticAssets' catch-all for files changed during development (mapped in Development only).
        || route == "/{**path:file}"
        || endpoint.DisplayName?.Contains("Static asset", StringComparison.OrdinalIgnoreCase) == true;

    private static string Normalize(string route)
    {
        var withSlash = route.StartsWith('/') ? route : "/" + route;
        return withSlash.Length > 1 ? withSlash.TrimEnd('/') : withSlash;
    }

    // --- probes ---

    private const string GuessedRunId = "00000000-0000-0000-0000-000000000001";

    private static Surface Http(string name, string method, string route, string path) => new(name, method, route, (f, p) => GetAsync(p, path));

    private static Surface[] Form(string route, string path, string formName, KeyValuePair<string, string>[] fields) =>
    [
        new($"POST {route} form without anti-forgery", "POST", route, (f, p) => PostFormAsync(p, path, formName, fields, withAntiforgery: false)),
        new($"POST {route} form with anti-forgery", "POST", route, (f, p) => PostFormAsync(p, path, formName, fields, withAntiforgery: true)),
    ];

    /// <summary>A course id nobody has: what someone guessing ids would try.</summary>
    private static readonly Guid GuessedCourse = Guid.CreateVersion7();

    /// <summary>The answer with the fixture's course ids named as the cells name them (they are made at run time).</summary>
    private static async Task<string> CourseAsync(AuthorizationMatrixFixture fixture, Task<string> probe) =>
        (await probe)
            .Replace(fixture.ArchivedCourseId.ToString(), Uri.EscapeDataString("{archived}"), StringComparison.Ordinal)
            .Replace(Neighbour(fixture.CourseId).ToString(), Uri.EscapeDataString("{course+1}"), StringComparison.Ordinal)
            .Replace(fixture.CourseId.ToString(), Uri.EscapeDataString("{course}"), StringComparison.Ordinal)
            .Replace(GuessedCourse.ToString(), Uri.EscapeDataString("{guessed}"), StringComparison.Ordinal);

    /// <summary>A run id nobody has.</summary>
    private static readonly Guid GuessedRun = Guid.CreateVersion7();

    /// <summary>The answer with the fixture's run, course and user ids named as the cells name them.</summary>
    private static async Task<string> NamedAsync(AuthorizationMatrixFixture fixture, Task<string> probe) =>
        (await CourseAsync(fixture, probe))
            .Replace(Neighbour(fixture.StudentACourseRun).ToString(), Uri.EscapeDataString("{course run+1}"), StringComparison.Ordinal)
            .Replace(fixture.StudentACourseRun.ToString(), Uri.EscapeDataString("{course run}"), StringComparison.Ordinal)
            .Replace(fixture.StudentARun.ToString(), Uri.EscapeDataString("{run}"), StringComparison.Ordinal)
            .Replace(GuessedRun.ToString(), Uri.EscapeDataString("{guessed run}"), StringComparison.Ordinal)
            .Replace(fixture.StudentAId, Uri.EscapeDataString("{student A}"), StringComparison.Ordinal)
            .Replace(fixture.StudentBId, Uri.EscapeDataString("{student B}"), StringComparison.Ordinal);

    /// <summary>The CSV export's answer: its status, and which of the fixture's runs it lists.</summary>
    private static async Task<string> CsvAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal, string path)
    {
        using var request = principal.Request(HttpMethod.Get, path);
        using var response = await principal.Browser.Http.SendAsync(request).WaitAsync(Timeout);
        if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != "text/csv")
        {
            return await DescribeAsync(principal, response);
        }

        var csv = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        var shown = new[] { (fixture.StudentARun, "run"), (fixture.StudentACourseRun, "course run") }
            .Where(r => csv.Contains(r.Item1.ToString(), StringComparison.Ordinal)).Select(r => r.Item2).ToList();
        return "200 csv: " + (shown.Count == 0 ? "none" : string.Join(", ", shown));
    }

    /// <summary>A staff form of the course page: refused (a status, or the page's refusal) or done (the page's confirmation).</summary>
    private static Task<string> StaffFormAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal, string path, string formName, KeyValuePair<string, string> field) =>
        StaffFormFieldsAsync(fixture, principal, path, formName, [field]);

    /// <summary>The fixture's course's own name, code and term (<see cref="IrisIde.Tests.Courses.TestCourses.CreateAsync"/>'s): an edit that changes nothing.</summary>
    private static KeyValuePair<string, string>[] SameDetails => [new("Details.Name", "Intro to Programming"), new("Details.Code", "CS101"), new("Details.Term", "Fall 2026")];

    private static async Task<string> StaffFormFieldsAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal, string path, string formName, KeyValuePair<string, string>[] fields)
    {
        var token = await principal.Browser.AntiforgeryTokenAsync("/account/signin");
        using var request = principal.Request(HttpMethod.Post, path);
        request.Content = new FormUrlEncodedContent([.. fields, new("_handler", formName), new("__RequestVerificationToken", token)]);
        using var response = await principal.Browser.Http.SendAsync(request).WaitAsync(Timeout);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return await CourseAsync(fixture, DescribeAsync(principal, response));
        }

        var html = System.Net.WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync().WaitAsync(Timeout));
        return html.Contains("only the course's instructors manage it.", StringComparison.Ordinal) ? "200 refused"
            : html.Contains("New join code: the old one no longer works.", StringComparison.Ordinal) || html.Contains("Role changed to", StringComparison.Ordinal)
                || html.Contains("Saved the course's name, code and term.", StringComparison.Ordinal) || html.Contains("The course is active again", StringComparison.Ordinal) ? "200 done"
            : "200 (neither refused nor done)";
    }

    private static Surface[] FormlessPost(string route) =>
        [new($"POST {route} without a form", "POST", route, (f, p) => PostFormAsync(p, route, null, [], withAntiforgery: true))];

    /// <summary>The id just after <paramref name="id"/>: what someone enumerating ids would try next.</summary>
    private static Guid Neighbour(Guid id)
    {
        var bytes = id.ToByteArray(bigEndian: true);
        bytes[^1]++;
        return new Guid(bytes, bigEndian: true);
    }

    private static Task<string> GetAsync(MatrixPrincipal principal, string path) => SendAsync(principal, HttpMethod.Get, path);

    /// <summary>The list's answer: its status, and which of the fixture's runs it shows ("run", "course run", or "none").</summary>
    private static async Task<string> ListRunsAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal)
    {
        using var request = principal.Request(HttpMethod.Get, "/api/v1/runs?pageSize=100");
        using var response = await principal.Browser.Http.SendAsync(request).WaitAsync(Timeout);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return await DescribeAsync(principal, response);
        }

        var ids = (await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeout)).GetProperty("items").EnumerateArray()
            .Select(i => i.GetProperty("id").GetGuid()).ToHashSet();
        var shown = new[] { (fixture.StudentARun, "run"), (fixture.StudentACourseRun, "course run") }.Where(r => ids.Contains(r.Item1)).Select(r => r.Item2).ToList();
        return shown.Count == 0 ? "200 none" : "200 " + string.Join(", ", shown);
    }

    /// <summary>The readiness probe once the app's start-up self-test is over (503 until then, for everyone alike).</summary>
    private static async Task<string> ReadyAsync(MatrixPrincipal principal)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var answer = await SendAsync(principal, HttpMethod.Get, "/healthz/ready");
            if (answer != "503" || DateTime.UtcNow > deadline)
            {
                return answer;
            }

            await Task.Delay(250);
        }
    }

    private static async Task<string> SendAsync(MatrixPrincipal principal, HttpMethod method, string path, HttpContent? content = null, string? origin = null)
    {
        using var request = principal.Request(method, path);
        request.Content = content;
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        using var response = await principal.Browser.Http.SendAsync(request).WaitAsync(Timeout);
        return await DescribeAsync(principal, response);
    }

    /// <summary>Signs out a copy of the session, so the principal stays signed in for the other cells.</summary>
    private static async Task<string> SignOutAsync(MatrixPrincipal principal, bool withAntiforgery)
    {
        using var copy = principal.Copy();
        return await PostFormAsync(copy, "/account/signout", null, [new("returnUrl", "/")], withAntiforgery);
    }

    /// <summary>Posts the revoke form for token <paramref name="id"/> and says what the page answered.</summary>
    private static async Task<string> RevokeAsync(MatrixPrincipal principal, string id)
    {
        var token = await principal.Browser.AntiforgeryTokenAsync("/account/signin");
        using var request = principal.Request(HttpMethod.Post, "/account/tokens");
        request.Content = new FormUrlEncodedContent([new("Revoke.Id", id), new("_handler", "revoke-token"), new("__RequestVerificationToken", token)]);
        using var response = await principal.Browser.Http.SendAsync(request).WaitAsync(Timeout);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return await DescribeAsync(principal, response);
        }

        var html = await response.Content.ReadAsStringAsync().WaitAsync(Timeout);
        return html.Contains("No such token.", StringComparison.Ordinal) ? "200 no such token"
            : html.Contains("Revoked &#x27;", StringComparison.Ordinal) || html.Contains("Revoked '", StringComparison.Ordinal) ? "200 revoked"
            : "200 (neither refused nor revoked)";
    }

    private static Task<string> PostJsonAsync(MatrixPrincipal principal, string path, object body) =>
        SendAsync(principal, HttpMethod.Post, path, JsonContent.Create(body));

    private static Task<string> CrossSitePlainPostAsync(MatrixPrincipal principal, string path) =>
        SendAsync(principal, HttpMethod.Post, path, new StringContent("{\"language\":\"python\",\"code\":\"print(1)\"}", System.Text.Encoding.UTF8, "text/plain"), ForeignOrigin);

    /// <summary>
    /// A form post. With anti-forgery, the token comes from the sign-in page fetched in this principal's own
    /// session without its bearer token (a token opens no page): the most a holder of both could send.
    /// </summary>
    private static async Task<string> PostFormAsync(MatrixPrincipal principal, string path, string? formName, KeyValuePair<string, string>[] fields, bool withAntiforgery)
    {
        var all = new List<KeyValuePair<string, string>>(fields);
        if (formName is not null)
        {
            all.Add(new("_handler", formName));
        }

        if (withAntiforgery)
        {
            all.Add(new("__RequestVerificationToken", await principal.Browser.AntiforgeryTokenAsync("/account/signin")));
        }

        return await SendAsync(principal, HttpMethod.Post, path, new FormUrlEncodedContent(all));
    }

    private static async Task<string> DescribeAsync(MatrixPrincipal principal, HttpResponseMessage response)
    {
        var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (response.StatusCode is HttpStatusCode.Found or HttpStatusCode.Redirect or HttpStatusCode.SeeOther or HttpStatusCode.TemporaryRedirect)
        {
            return $"{status} → {principal.Browser.Target(response)}";
        }

        if (response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            && (await response.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeout)).TryGetProperty("title", out var title)
            // The framework's own refusals (a form without its anti-forgery token) are titled with an exception's type name in Development only.
            && title.GetString()?.StartsWith("Microsoft.", StringComparison.Ordinal) == false)
        {
            return $"{status} {title.GetString()}";
        }

        return status;
    }

    private static async Task<string> UpgradeAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal, string path, string? origin, bool tokenInQuery)
    {
        var query = tokenInQuery && principal.Token is not null ? $"?access_token={Uri.EscapeDataString(principal.Token)}" : "";
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.Cookies = principal.Cookies;
        if (principal.Token is not null && !tokenInQuery)
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {principal.Token}");
        }

        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        try
        {
            await socket.ConnectAsync(new Uri($"ws://{fixture.App.BaseAddress.Authority}{path}{query}"), CancellationToken.None).WaitAsync(Timeout);
        }
        catch (WebSocketException)
        {
            return ((int)socket.HttpStatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "matrix", CancellationToken.None).WaitAsync(Timeout);
        return Upgraded;
    }

    private static Task<string> NegotiateAsync(MatrixPrincipal principal, string? origin) =>
        SendAsync(principal, HttpMethod.Post, $"{ExecutionHubEndpoints.Path}/negotiate?negotiateVersion=1", origin: origin);

    /// <summary>Connects to the hub as <paramref name="principal"/> over WebSockets and reports what <paramref name="call"/> gets back.</summary>
    private static async Task<string> HubAsync(AuthorizationMatrixFixture fixture, MatrixPrincipal principal, string? origin, Func<HubConnection, Task<string>> call)
    {
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(fixture.App.BaseAddress, ExecutionHubEndpoints.Path), HttpTransportType.WebSockets, options =>
            {
                options.Cookies = principal.Cookies;
                if (principal.Token is { } token)
                {
                    options.AccessTokenProvider = () => Task.FromResult<string?>(token);
                }

                if (origin is not null)
                {
                    options.Headers["Origin"] = origin;
                }
            })
            .Build();
        try
        {
            await connection.StartAsync().WaitAsync(Timeout);
        }
        catch (HttpRequestException e) when (e.StatusCode is { } status)
        {
            return $"connect {(int)status}";
        }

        try
        {
            return await call(connection).WaitAsync(Timeout);
        }
        catch (HubException e)
        {
            // "An unexpected error occurred invoking 'X' on the server. HubException: no run '…' on this connection: …"
            var at = e.Message.IndexOf("HubException: ", StringComparison.Ordinal);
            return at < 0 ? e.Message : $"HubException: {string.Join(' ', e.Message[(at + "HubException: ".Length)..].Split(' ').Take(2))}";
        }
    }

    private static async Task<string> InvokeAsync(HubConnection connection, string method, params object[] args)
    {
        await connection.InvokeCoreAsync(method, args);
        return "returned";
    }

    private static async Task<string> FirstStreamedAsync(HubConnection connection, string method, params object[] args)
    {
        await foreach (var item in connection.StreamAsyncCore<JsonElement>(method, args).WithCancellation(CancellationToken.None))
        {
            var message = item.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
            return $"{item.GetProperty("type").GetString()}: {message}";
        }

        return "no event";
    }

    private static async Task<string> StartRunAsync(HubConnection connection)
    {
        var request = new { language = "", files = new[] { new { name = "", content = "print(1)\n" } } };
        await foreach (var item in connection.StreamAsync<JsonElement>(nameof(ExecutionHub.StartRun), request).WithCancellation(CancellationToken.None))
        {
            // The first event says whether the run was refused, and why (up to the colon); a run that starts is a hole.
            var type = item.GetProperty("type").GetString();
            var message = item.TryGetProperty("message", out var m) ? m.GetString() ?? "" : "";
            return type == "error" ? $"error: {message.Split(':')[0]}" : $"{type} (a run started)";
        }

        return "no event";
    }
}
