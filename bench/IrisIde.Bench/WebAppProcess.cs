using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace IrisIde.Bench;

/// <summary>The real web app (built next to this benchmark) on a free loopback port.</summary>
internal sealed class WebAppProcess(Process process, int port) : IAsyncDisposable
{
    public int Port => port;

    /// <summary>CPU time the server process itself has used (not the sandboxed runs it started).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            process.Refresh();
            return process.TotalProcessorTime;
        }
    }

    /// <summary>The server's resident memory now (VmRSS), bytes.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public static Task<WebAppProcess> StartAsync(CancellationToken cancellationToken) =>
        StartAsync(new Dictionary<string, string>(), cancellationToken);

    /// <param name="environment">Settings on top of the defaults, e.g. <c>ConnectionStrings__RabbitMq</c>.</param>
    public static async Task<WebAppProcess> StartAsync(IReadOnlyDictionary<string, string> environment, CancellationToken cancellationToken)
    {
        var port = FreePort();
        var dll = BuildOutput("IrisIde.Web");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll),
        };
        start.ArgumentList.Add(dll);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["Logging__LogLevel__Default"] = "Warning";

        // The bench is one client (127.0.0.1) measuring throughput, not a class: admission's per-client
        // caps would measure themselves instead.
        start.Environment["Iris__Admission__RunsPerMinutePerClient"] = "1000000";
        start.Environment["Iris__Admission__MaxSessionsPerClient"] = "100000";
        start.Environment["Iris__Admission__MaxQueuedJobsPerClient"] = "1000000";
        start.Environment["Iris__Admission__MaxQueuedJobs"] = "1000000";
        // The bench measures runs, not sign-in: its clients run anonymously (off by default in the product).
        start.Environment["Iris__Auth__AllowAnonymousRuns"] = "true";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        _ = process.StandardOutput.ReadToEndAsync(cancellationToken);
        _ = process.StandardError.ReadToEndAsync(cancellationToken);
        using var http = new HttpClient();
        var deadline = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(deadline) < TimeSpan.FromSeconds(60))
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return new WebAppProcess(process, port);
                }
            }
            catch (HttpRequestException)
            {
            }

            await Task.Delay(200, cancellationToken);
        }

        process.Kill(entireProcessTree: true);
        throw new InvalidOperationException("the web app did not become healthy within 60 s");
    }

    /// <summary>
    /// Runs the web app's <c>admin</c> entry point (accounts, tokens) on the database <paramref name="environment"/>
    /// configures, as <c>./iris admin</c> does; its standard output, or an exception with its error output.
    /// </summary>
    public static Task<string> AdminAsync(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> arguments, CancellationToken cancellationToken) =>
        AdminAsync(environment, arguments, standardInput: null, cancellationToken);

    /// <summary>As <see cref="AdminAsync(IReadOnlyDictionary{string, string}, IReadOnlyList{string}, CancellationToken)"/>, with one line on its standard input (e.g. for <c>--password-stdin</c>).</summary>
    public static async Task<string> AdminAsync(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> arguments, string? standardInput, CancellationToken cancellationToken)
    {
        var dll = BuildOutput("IrisIde.Web");
        var start = new ProcessStartInfo("dotnet")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = Path.GetDirectoryName(dll),
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("admin");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        if (standardInput is not null)
        {
            await process.StandardInput.WriteLineAsync(standardInput.AsMemory(), cancellationToken);
        }

        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"admin {string.Join(' ', arguments)} exited {process.ExitCode}: {await error}");
    }

    public async ValueTask DisposeAsync()
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    /// <summary>A project's own build output, <c>&lt;project&gt;.dll</c>, in the same configuration as this benchmark.</summary>
    public static string BuildOutput(string project)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "IrisIde.sln")))
        {
            dir = dir.Parent;
        }

        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent?.Name ?? "Release";
        var dll = dir is null ? null : Path.Combine(dir.FullName, project, "bin", configuration, "net10.0", $"{project}.dll");
        return dll is not null && File.Exists(dll)
            ? dll
            : throw new InvalidOperationException($"build the solution first (dotnet build IrisIde.sln -c {configuration})");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
