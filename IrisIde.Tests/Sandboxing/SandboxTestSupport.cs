using System.Text;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Capacity;

namespace IrisIde.Tests.Sandboxing;

/// <summary>A temp folder the sandbox may use as its workspace; traversable by the sandbox uid.</summary>
internal sealed class TestWorkspace : IDisposable
{
    /// <param name="parent">The folder to make it in; the temp folder by default.</param>
    public TestWorkspace(string? parent = null)
    {
        Path = System.IO.Path.Combine(parent ?? System.IO.Path.GetTempPath(), "iris-sandbox-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string name, string content)
    {
        var path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal sealed record RunOutput(SandboxResult Result, string Stdout, string Stderr);

internal static class SandboxRunner
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>The capacity a server on this host gets with no configuration.</summary>
    public static RunCapacity HostCapacity { get; } = RunCapacity.Resolve(new RunCapacityOptions(), HostResources.Detect()).Capacity!;

    public static SandboxLimits DefaultLimits { get; } = new()
    {
        WallTime = TimeSpan.FromSeconds(10),
        CpuTime = TimeSpan.FromSeconds(5),
        MemoryBytes = 256L * 1024 * 1024,
        MaxProcesses = 64,
        MaxFileSizeBytes = 16L * 1024 * 1024,
    };

    public static async Task<RunOutput> RunAsync(
        ISandbox sandbox,
        TestWorkspace workspace,
        string[] command,
        string? stdin = null,
        SandboxLimits? limits = null,
        IReadOnlyDictionary<string, string>? environment = null,
        Func<ISandboxProcess, Task>? whileRunning = null,
        IReadOnlyList<string>? toolchain = null)
    {
        await using var process = await sandbox
            .StartAsync(new SandboxSpec(command, workspace.Path, limits ?? DefaultLimits, environment, toolchain), CancellationToken.None)
            .WaitAsync(Timeout);
        var stdout = ReadAllAsync(process.StandardOutput);
        var stderr = ReadAllAsync(process.StandardError);
        if (stdin is not null)
        {
            try
            {
                await process.StandardInput.WriteAsync(Encoding.UTF8.GetBytes(stdin)).AsTask().WaitAsync(Timeout);
            }
            catch (IOException)
            {
                // The program did not read its input.
            }
        }

        if (whileRunning is not null)
        {
            await whileRunning(process).WaitAsync(Timeout);
        }

        try
        {
            await process.StandardInput.DisposeAsync().AsTask().WaitAsync(Timeout);
        }
        catch (IOException)
        {
        }

        var result = await process.Completion.WaitAsync(Timeout);
        return new RunOutput(result, await stdout.WaitAsync(Timeout), await stderr.WaitAsync(Timeout));
    }

    private static async Task<string> ReadAllAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Our leftover processes owned by <paramref name="uid"/>: see <see cref="Support.HostProcesses.OursOwnedBy"/>.</summary>
    public static IReadOnlyList<string> ProcessesOwnedBy(int uid, int count = 1) => Support.HostProcesses.OursOwnedBy(uid, count);
}
