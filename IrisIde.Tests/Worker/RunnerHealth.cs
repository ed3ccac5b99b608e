using System.Net;

namespace IrisIde.Tests.Worker;

/// <summary>A runner's <c>/healthz</c>: 503 while it warms up (one run through its pipeline), then 200.</summary>
internal static class RunnerHealth
{
    /// <summary>Asks until the answer is not 503 (or the timeout passed); returns every status seen, in order.</summary>
    public static async Task<IReadOnlyList<HttpStatusCode>> WaitReadyAsync(HttpClient http, TimeSpan timeout)
    {
        var seen = new List<HttpStatusCode>();
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            seen.Add(response.StatusCode);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTime.UtcNow > deadline)
            {
                return seen;
            }

            await Task.Delay(100);
        }
    }
}
