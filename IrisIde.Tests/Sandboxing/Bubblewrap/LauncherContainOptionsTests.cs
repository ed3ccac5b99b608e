using System.Diagnostics;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Processes;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// The real launcher given bad options for the sandbox it builds itself (<c>iris-launch run --contain</c>): each is
/// refused with its reason and exit 125 before anything is set up or started.
/// </summary>
public sealed class LauncherContainOptionsTests : IDisposable
{
    private static readonly string Launcher = new BubblewrapOptions().LauncherPath;
    private readonly string _folder = Directory.CreateTempSubdirectory("iris-contain-options-").FullName;

    /// <summary>Everything --contain needs, valid; a case replaces or adds what it is about.</summary>
    private static List<string> ValidOptions(string filter) =>
    [
        "run", "--uid", "63290", "--gid", "63290", "--contain", "/nonexistent-root", "--workspace", "/nonexistent-workspace",
        "--workspace-at", "/workspace", "--hostname", "iris", "--tmpfs-size", "65536", "--sandbox-id", "1000",
        "--status-fd", "3", "--pass-fd", "4", "--seccomp", filter,
    ];

    public static TheoryData<string[], string> BadOptions => new()
    {
        { ["--contain", "workspace"], "--contain needs an absolute path other than /" },
        { ["--workspace", "/"], "--workspace needs an absolute path other than /" },
        { ["--mask-file", "../kcore"], "invalid /proc name '../kcore'" },
        { ["--mask-folder", "/proc/acpi"], "invalid /proc name '/proc/acpi'" },
        { ["--hostname", new string('h', 65)], "invalid host name" },
        { ["--hostname", ""], "invalid host name" },
        { ["--setenv", "NO_VALUE"], "--setenv expects NAME=VALUE, got 'NO_VALUE'" },
        { ["--setenv", "=value"], "--setenv expects NAME=VALUE" },
        { ["--tmpfs-size", "12"], "invalid tmpfs size '12'" },
        { ["--sandbox-id", "-1"], "invalid sandbox id '-1'" },
        { ["--pass-fd", "2"], "invalid descriptor '2'" },
        { ["--seccomp", "/nonexistent-filter"], "open /nonexistent-filter" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task A_bad_option_is_refused_with_its_reason(string[] option, string error)
    {
        var (exitCode, stderr) = await RunAsync([.. ValidOptions(WriteFilter(8)), .. option, "--", "/.iris/init", "4"]);

        Assert.Equal(125, exitCode);
        Assert.Contains("iris-launch: " + error, stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(13)]
    [InlineData(4097 * 8)]
    public async Task A_seccomp_file_that_is_not_a_filter_of_up_to_4096_instructions_is_refused(int bytes)
    {
        var (exitCode, stderr) = await RunAsync([.. ValidOptions(WriteFilter(bytes)), "--", "/.iris/init", "4"]);

        Assert.Equal(125, exitCode);
        Assert.Contains("is not a seccomp program of at most 4096 instructions", stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--uid")]
    [InlineData("--workspace")]
    [InlineData("--workspace-at")]
    [InlineData("--hostname")]
    [InlineData("--tmpfs-size")]
    [InlineData("--status-fd")]
    [InlineData("--sandbox-id")]
    [InlineData("--seccomp")]
    public async Task Each_option_the_sandbox_needs_is_required(string missing)
    {
        var options = ValidOptions(WriteFilter(8));
        var at = options.IndexOf(missing);
        options.RemoveRange(at, 2);
        if (missing == "--uid")
        {
            options.RemoveRange(options.IndexOf("--gid"), 2);
        }

        var (exitCode, stderr) = await RunAsync([.. options, "--", "/.iris/init", "4"]);

        Assert.Equal(125, exitCode);
        Assert.Contains("iris-launch: --contain needs --uid, --gid, --workspace", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_every_option_valid_the_set_up_goes_on_into_the_sandbox_and_fails_there_on_a_missing_root()
    {
        // The baseline the cases above change one thing of: it passes every check and reaches the sandbox's pid 1.
        var (exitCode, stderr) = await RunAsync([.. ValidOptions(WriteFilter(8)), "--", "/.iris/init", "4"]);

        Assert.Equal(125, exitCode);
        Assert.Contains("iris-launch: bind /nonexistent-root: No such file or directory", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_must_be_an_absolute_path_inside_the_root()
    {
        var (exitCode, stderr) = await RunAsync([.. ValidOptions(WriteFilter(8)), "--", "init", "4"]);

        Assert.Equal(125, exitCode);
        Assert.Contains("iris-launch: --contain: the command must be an absolute path inside the root", stderr, StringComparison.Ordinal);
    }

    private string WriteFilter(int bytes)
    {
        var path = Path.Combine(_folder, $"filter-{bytes}.bpf");
        File.WriteAllBytes(path, new byte[bytes]);
        return path;
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Launcher) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Through the server's own launching thread: the launcher dies with the thread that started it (a thread-pool
        // thread may retire while it runs).
        using var process = await ProcessLauncher.StartAsync(start, CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        return (process.ExitCode, await stderr);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
