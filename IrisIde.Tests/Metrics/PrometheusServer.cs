using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace IrisIde.Tests.Metrics;

/// <summary>
/// A real Prometheus: Debian's <c>prometheus</c> (TEST_PACKAGES in ./iris) as a plain process on a free loopback
/// port, scraping one target every second with a bearer token, its database in a temporary folder of its own. It
/// cannot be skipped: when it does not start, the test that needs it fails with its log.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    public const string ExecutablePath = "/usr/bin/prometheus";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly string _folder;
    private readonly Process _process;
    private readonly StringBuilder _log;
    private readonly HttpClient _http;

    private PrometheusServer(string folder, Process process, StringBuilder log, Uri baseAddress)
    {
        _folder = folder;
        _process = process;
        _log = log;
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout };
    }

    /// <summary>Starts Prometheus scraping <c>http://{target}/metrics</c> with <c>Authorization: Bearer {bearerToken}</c>, and waits until it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string target, string bearerToken)
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException($"prometheus is not installed ({ExecutablePath}): ./iris test installs it (TEST_PACKAGES)");
        }

        var folder = Path.Combine(Path.GetTempPath(), "iris-tests", "prometheus-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var config = Path.Combine(folder, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
            scrape_configs:
              - job_name: iris
                metrics_path: /metrics
                authorization:
                  type: Bearer
                  credentials: {bearerToken}
                static_configs:
                  - targets: ['{target}']
            """);
        var port = FreePort();
        var start = new ProcessStartInfo(ExecutablePath)
        {
            ArgumentList =
            {
                $"--config.file={config}",
                $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                $"--storage.tsdb.path={Path.Combine(folder, "data")}",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start");
        var log = new StringBuilder();
        DataReceivedEventHandler keep = (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (log)
                {
                    log.AppendLine(e.Data);
                }
            }
        };
        process.OutputDataReceived += keep;
        process.ErrorDataReceived += keep;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(folder, process, log, new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/"));
        try
        {
            await server.WaitUntilReadyAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The value of an instant query that returns one sample, or null while it returns none.</summary>
    public async Task<double?> QueryScalarAsync(string query)
    {
        var body = await _http.GetFromJsonAsync<JsonElement>($"api/v1/query?query={Uri.EscapeDataString(query)}").WaitAsync(Timeout);
        if (body.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"prometheus refused the query {query}: {body}");
        }

        var result = body.GetProperty("data").GetProperty("result");
        return result.GetArrayLength() == 0
            ? null
            : double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    /// <summary>Polls <paramref name="query"/> until it returns <paramref name="expected"/>; fails with what it last returned and the log.</summary>
    public async Task WaitForAsync(string query, double expected)
    {
        var deadline = DateTime.UtcNow + Timeout;
        double? last = null;
        while (DateTime.UtcNow < deadline)
        {
            last = await QueryScalarAsync(query);
            if (last == expected)
            {
                return;
            }

            await Task.Delay(250);
        }

        throw new Xunit.Sdk.XunitException($"{query}: expected {expected}, prometheus said {last?.ToString(CultureInfo.InvariantCulture) ?? "nothing"}\n{Log()}");
    }

    public string Log()
    {
        lock (_log)
        {
            var lines = _log.ToString().Split('\n');
            return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 40)));
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(Timeout);
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary folder is harmless.
        }
    }

    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited with {_process.ExitCode.ToString(CultureInfo.InvariantCulture)}:\n{Log()}");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri("-/ready", UriKind.Relative)).WaitAsync(Timeout);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(200);
        }

        throw new InvalidOperationException($"prometheus was not ready within {Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s:\n{Log()}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
