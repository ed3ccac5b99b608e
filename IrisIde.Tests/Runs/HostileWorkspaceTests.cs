using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Workspaces;

namespace IrisIde.Tests.Runs;

/// <summary>
/// Issue 9, findings 1 and 2: what a program leaves in its workspace cannot keep the workspace in host RAM
/// after the run, and a program cannot take more inodes than its workspace's cap. After each run nothing
/// is left under the fixture's instance folder: no folder, no mount.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class HostileWorkspaceTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>, IAsyncLifetime
{
    private static readonly RunLimitOverrides Short = new() { WallSeconds = 20, CpuSeconds = 10 };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        var hello = await fixture.RunAsync("python", "print('Hello, World!')");
        Assert.True(hello.Outcome.Verdict == Verdict.Ok, $"hello after a hostile run: {hello}");
        AssertNothingLeft();
        Support.HostProcesses.AssertNoneLeft(await fixture.RemainingProcessesAfterAsync(TimeSpan.FromSeconds(5)));
    }

    private void AssertNothingLeft()
    {
        var instance = fixture.Workspaces.InstancePath;
        Assert.Empty(Directory.EnumerateFileSystemEntries(instance));
        Assert.Empty(MountTable.MountPointsUnder(instance));
    }

    private async Task<RunResult> RunAsync(string source, string language = "python", string? compile = null, string? run = null)
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest
        {
            Language = language,
            Files = [new SourceFile(string.Empty, source)],
            Limits = Short,
            CustomCompileCommand = compile,
            CustomRunCommand = run,
        }, CancellationToken.None).WaitAsync(PipelineFixture.Timeout);
        return new RunResult(events);
    }

    [Fact]
    public async Task A_file_whose_name_is_not_utf8_does_not_outlive_its_run()
    {
        var result = await RunAsync(
            "import os\n" +
            "fd = os.open(b'\\xff\\xfe', os.O_WRONLY | os.O_CREAT, 0o644)\n" +
            "os.write(fd, b'x' * (4 << 20))\nos.close(fd)\n" +
            "os.mkdir(b'dir\\n\\xff')\n" +
            "with open(b'dir\\n\\xff/f\\xfe\\n', 'wb') as f: f.write(b'y')\n" +
            "print(sorted(os.listdir(b'.')))\n");

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("[b'dir\\n\\xff', b'main.py', b'\\xff\\xfe']\n", result.Stdout);
        AssertNothingLeft();
    }

    [Fact]
    public async Task A_folder_chain_deeper_than_PATH_MAX_does_not_outlive_its_run()
    {
        var result = await RunAsync(
            "import os\n" +
            "for i in range(3000):\n    os.mkdir('aaaaaaaaaa')\n    os.chdir('aaaaaaaaaa')\n" +
            "with open(b'\\xff', 'w') as f: f.write('bottom')\n" +
            "os.chmod('.', 0)\n" +
            "print('deep', 3000 * 11)\n");

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.Equal("deep 33000\n", result.Stdout);
        AssertNothingLeft();
    }

    [Fact]
    public async Task Creating_files_until_it_fails_meets_the_inode_cap_inside_the_workspace()
    {
        var result = await RunAsync(
            "import errno\n" +
            "n = 0\n" +
            "try:\n" +
            "    while True:\n        open(f'f{n}', 'w').close()\n        n += 1\n" +
            "except OSError as e:\n" +
            "    print(errno.errorcode[e.errno], e.strerror, n)\n");

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        var parts = result.Stdout.Trim().Split(' ');
        Assert.Equal("ENOSPC", parts[0]);
        Assert.Contains("No space left on device", result.Stdout, StringComparison.Ordinal);
        var created = int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(created, 8000, 8192); // the cap (8192 inodes, the root and main.py included), nowhere near the host's
        AssertNothingLeft();
    }

    /// <summary>The compile step (custom commands) leaves names the host cannot decode and a deep chain.</summary>
    private static RunRequest CompileLeavingHostileNames => new()
    {
        Language = "c",
        Files = [new SourceFile(string.Empty, "int main(void){return 0;}\n")],
        Limits = Short,
        // A C run sees no python: a small C helper, built and run by the compile step, leaves the
        // name FF FE and a folder chain far deeper than PATH_MAX (chdir step by step, as no shell can).
        CustomCompileCommand = "cat > h.c <<'EOF'\n#include <fcntl.h>\n#include <sys/stat.h>\n#include <unistd.h>\n"
            + "int main(void) { close(open(\"\\377\\376\", O_CREAT | O_WRONLY, 0644)); "
            + "for (int i = 0; i < 500; i++) { mkdir(\"aaaaaaaaaa\", 0755); if (chdir(\"aaaaaaaaaa\")) return 1; } return 0; }\n"
            + "EOF\ngcc -o h h.c && ./h && rm h h.c",
        CustomRunCommand = "echo ran",
    };

    private async Task<List<RunResult>> RunEachAsync(RunRequest request, int count)
    {
        var runs = new List<RunResult>();
        using var timeout = new CancellationTokenSource(PipelineFixture.Timeout);
        await foreach (var events in fixture.Pipeline.RunEachAsync(request, [.. Enumerable.Repeat<string?>(null, count)], timeout.Token))
        {
            runs.Add(new RunResult(events));
        }

        return runs;
    }

    [Fact]
    public async Task Copies_of_a_compiled_program_holding_hostile_names_leave_nothing_behind()
    {
        // Every run after the first starts from a copy of the compiled folder, made by descriptor on raw names.
        var runs = await RunEachAsync(CompileLeavingHostileNames, 3);

        Assert.True(runs[0].Compile?.Succeeded, runs[0].ToString());
        Assert.Equal(3, runs.Count);
        AssertNothingLeft();
    }

    [Fact]
    public async Task A_compiled_program_holding_hostile_names_runs_from_each_copy()
    {
        var runs = await RunEachAsync(CompileLeavingHostileNames, 3);

        Assert.Equal(3, runs.Count);
        Assert.All(runs, run => Assert.True(run.Outcome.Verdict == Verdict.Ok && run.Stdout == "ran\n", run.ToString()));
        AssertNothingLeft();
    }
}
