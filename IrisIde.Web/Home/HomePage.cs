namespace IrisIde.Web.Home;

/// <summary>
/// A placeholder front page until the Blazor IDE arrives: it says so and lists what works today.
/// </summary>
public static class HomePage
{
    private const string Html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>IrisIde</title>
          <style>
            body { font-family: system-ui, sans-serif; background: #1e1e1e; color: #d4d4d4; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
            code { background: #2d2d2d; padding: 0.1rem 0.3rem; border-radius: 3px; }
            a { color: #4fc1ff; }
          </style>
        </head>
        <body>
          <h1>IrisIde</h1>
          <p>The browser IDE (editor and terminal) is not here yet: it arrives with a later issue.
             What this server offers today:</p>
          <ul>
            <li><code>/ws</code> &mdash; the iris-runner WebSocket protocol: send
                <code>{"type":"code","language":"python","source":"print(1)"}</code>, then
                <code>input</code> messages; receive <code>stdout</code>, <code>stderr</code>,
                <code>compile_success</code>, <code>compile_error</code>, <code>echo</code> and <code>exit</code>.</li>
            <li><a href="/api/v1/languages"><code>GET /api/v1/languages</code></a> &mdash; the languages
                this server knows and whether each can run here.</li>
            <li><a href="/healthz"><code>GET /healthz</code></a> &mdash; health check.</li>
          </ul>
        </body>
        </html>
        """;

    public static IEndpointConventionBuilder MapHomePage(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/", static () => TypedResults.Content(Html, "text/html; charset=utf-8"))
            .WithName("Home")
            .ExcludeFromDescription();
}
