namespace IrisIde.Execution.Health;

/// <summary>
/// A container's health check without curl in the image: the app's own executable asks its health endpoint
/// (<c>IrisIde.Web.dll probe</c>, <c>IrisIde.Worker probe</c>) and exits 0 when it answers 2xx, 1 when it answers
/// anything else or not at all within the timeout, 2 for a URL that is not http(s). One line on stdout says which.
/// </summary>
public static class HealthProbe
{
    public const int Healthy = 0;

    public const int Unhealthy = 1;

    public const int Usage = 2;

    /// <summary>How long the endpoint has to answer; shorter than any orchestrator's probe timeout worth using.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string url, TextWriter output, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            await output.WriteLineAsync($"probe: '{url}' is not an http(s) URL");
            return Usage;
        }

        using var http = new HttpClient { Timeout = timeout ?? DefaultTimeout };
        try
        {
            using var response = await http.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead);
            var healthy = response.IsSuccessStatusCode;
            await output.WriteLineAsync($"probe: {uri} answered {(int)response.StatusCode} {response.ReasonPhrase}: {(healthy ? "healthy" : "unhealthy")}");
            return healthy ? Healthy : Unhealthy;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            var reason = e is TaskCanceledException ? $"no answer within {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s" : e.GetBaseException().Message;
            await output.WriteLineAsync($"probe: {uri}: {reason}: unhealthy");
            return Unhealthy;
        }
    }
}
