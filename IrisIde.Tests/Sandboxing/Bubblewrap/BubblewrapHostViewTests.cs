using System.Text.Json;
using IrisIde.Execution.Languages;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// What a run sees of the host (issue 9, finding 7): its language's toolchain and a small base set,
/// not the host's /usr; no host folder in its mounts or pid 1; the /proc files Docker masks masked.
/// </summary>
[Trait("Needs", "Bubblewrap")]
[Collection(nameof(BubblewrapSandboxTests))]
public sealed class BubblewrapHostViewTests(BubblewrapSandboxFixture fixture) : IClassFixture<BubblewrapSandboxFixture>
{
    private static readonly LanguageCatalog Catalog = LanguageCatalog.LoadEmbedded();

    // Reports, as JSON, what exists of the paths given on its command line (a folder with its entries),
    // what reading each /proc file gives, the mount table and pid 1's command line.
    private const string Probe = """
        import json, os, sys
        def read(path, size=4096):
            try:
                with open(path, 'rb') as f:
                    return f.read(size).decode('latin-1')
            except OSError as e:
                return 'error: ' + e.strerror
        paths = {}
        for p in sys.argv[1:]:
            if os.path.isdir(p):
                paths[p] = sorted(os.listdir(p))
            elif os.path.lexists(p):
                paths[p] = 'file'
        proc = {name: read('/proc/' + name) for name in ['kcore', 'config.gz', 'sysrq-trigger', 'keys', 'key-users', 'kallsyms', 'cmdline', 'timer_list', 'sched_debug', 'sys/kernel/random/boot_id']}
        print(json.dumps({'paths': paths, 'proc': proc, 'mountinfo': read('/proc/self/mountinfo', 1 << 20), 'pid1': read('/proc/1/cmdline')}))
        """;

    private static LanguageDefinition Language(string id) => Catalog.All.Single(l => l.Id == id);

    private async Task<JsonElement> ProbeAsync(IReadOnlyList<string>? toolchain, params string[] paths)
    {
        using var workspace = new TestWorkspace();
        workspace.Write("probe.py", Probe);
        var run = await SandboxRunner.RunAsync(fixture.Sandbox, workspace, ["python3", "probe.py", .. paths], toolchain: toolchain);
        Assert.True(run.Result.Verdict == Verdict.Ok, $"{run.Result.Verdict}: {run.Result.Message} {run.Stderr}");
        return JsonDocument.Parse(run.Stdout).RootElement.Clone();
    }

    private static bool Exists(JsonElement probe, string path) => probe.GetProperty("paths").TryGetProperty(path, out _);

    private static string[] Entries(JsonElement probe, string path) =>
        probe.GetProperty("paths").TryGetProperty(path, out var entries) && entries.ValueKind == JsonValueKind.Array
            ? [.. entries.EnumerateArray().Select(e => e.GetString()!)]
            : [];

    [Fact]
    public async Task A_python_run_sees_python_and_the_base_set_and_no_other_program_of_the_host()
    {
        var probe = await ProbeAsync(Language("python").Toolchain,
            "/usr/bin", "/usr/sbin", "/usr/local", "/usr/local/bin", "/usr/bin/dpkg", "/usr/bin/rabbitmqctl", "/usr/lib/postgresql",
            "/usr/lib/jvm", "/usr/lib/go-1.19", "/usr/bin/gcc", "/usr/bin/node", "/etc/alternatives", "/usr/lib/python3.11", "/usr/share", "/sys", "/var");

        // Python's interpreter and the base set's shell and tools: nothing else of the host's /usr/bin.
        Assert.Equal(
            ["cat", "cp", "dash", "env", "head", "id", "ls", "mkdir", "mv", "python3", "python3.11", "rm", "sh", "sleep", "tail", "touch", "wc"],
            Entries(probe, "/usr/bin"));
        Assert.True(Exists(probe, "/usr/lib/python3.11"));
        foreach (var hidden in new[] { "/usr/sbin", "/usr/local", "/usr/local/bin", "/usr/bin/dpkg", "/usr/bin/rabbitmqctl", "/usr/lib/postgresql", "/etc/alternatives", "/sys", "/var" })
        {
            Assert.False(Exists(probe, hidden), $"{hidden} is visible");
        }

        // Another language's toolchain is not there either.
        foreach (var other in new[] { "/usr/lib/jvm", "/usr/lib/go-1.19", "/usr/bin/gcc", "/usr/bin/node" })
        {
            Assert.False(Exists(probe, other), $"{other} is visible to a python run");
        }

        Assert.Equal(["zoneinfo"], Entries(probe, "/usr/share"));
        await fixture.AssertNothingLeftAndHelloWorldWorksAsync();
    }

    [Fact]
    public async Task A_run_of_no_particular_language_sees_every_catalogue_toolchain_but_no_admin_tool_or_service()
    {
        var probe = await ProbeAsync(null,
            "/usr/lib/jvm", "/usr/lib/python3.11", "/usr/local/bin", "/usr/sbin", "/usr/bin/dpkg", "/usr/bin/apt-get", "/usr/bin/rabbitmqctl",
            "/usr/bin/psql", "/usr/lib/postgresql", "/usr/lib/rabbitmq", "/usr/bin/sudo", "/usr/bin/bwrap");

        Assert.True(Exists(probe, "/usr/lib/python3.11"));
        if (Directory.Exists("/usr/lib/jvm/java-17-openjdk-amd64"))
        {
            Assert.True(Exists(probe, "/usr/lib/jvm"));
        }

        foreach (var hidden in new[] { "/usr/local/bin", "/usr/sbin", "/usr/bin/dpkg", "/usr/bin/apt-get", "/usr/bin/rabbitmqctl", "/usr/bin/psql", "/usr/lib/postgresql", "/usr/lib/rabbitmq", "/usr/bin/sudo", "/usr/bin/bwrap" })
        {
            Assert.False(Exists(probe, hidden), $"{hidden} is visible");
        }
    }

    [Fact]
    public async Task A_java_run_cannot_see_other_languages_toolchains()
    {
        using var workspace = new TestWorkspace();

        // A shell, not the python probe: python's standard library is exactly what must be missing.
        var run = await SandboxRunner.RunAsync(fixture.Sandbox, workspace,
            ["sh", "-c", "for p in /usr/lib/python3.11 /usr/bin/python3 /usr/lib/go-1.19 /usr/bin/gcc /usr/lib/gcc /usr/include /usr/bin/node; do [ -e $p ] && echo visible $p; done; ls /usr/lib/jvm"],
            toolchain: Language("java").Toolchain);

        Assert.Equal(Directory.Exists("/usr/lib/jvm/java-17-openjdk-amd64") ? "java-17-openjdk-amd64\n" : "", run.Stdout);
    }

    [Fact]
    public async Task The_proc_files_that_show_the_host_read_nothing()
    {
        var probe = await ProbeAsync(Language("python").Toolchain, "/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi", "/proc/driver");

        foreach (var file in probe.GetProperty("proc").EnumerateObject())
        {
            var content = file.Value.GetString()!;
            Assert.True(content.Length == 0 || content.StartsWith("error: ", StringComparison.Ordinal),
                $"/proc/{file.Name} reads '{content[..Math.Min(80, content.Length)]}'");
        }

        foreach (var folder in new[] { "/proc/acpi", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/scsi", "/proc/driver" })
        {
            Assert.Empty(Entries(probe, folder));
        }

        // Not a vacuous pass: the host's own boot id and kernel command line are there to read.
        Assert.NotEmpty(File.ReadAllText("/proc/sys/kernel/random/boot_id"));
        Assert.NotEmpty(File.ReadAllText("/proc/cmdline"));
    }

    [Fact]
    public async Task No_mount_and_not_pid_1_names_a_host_folder()
    {
        var probe = await ProbeAsync(null);
        var mounts = probe.GetProperty("mountinfo").GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' '))
            .Select(f => (Root: f[3], MountPoint: f[4], Type: f[Array.IndexOf(f, "-") + 1], Line: string.Join(' ', f)))
            .ToList();
        Assert.NotEmpty(mounts);

        foreach (var mount in mounts.Where(m => m.MountPoint != SandboxSpec.SandboxWorkspacePath))
        {
            // A bind shows the host path it came from as its root: only acceptable where it is the same
            // path the program sees anyway. bwrap's own tmpfs root is "/newroot"; device nodes (/dev/null,
            // and the masks on /proc) are single files of devtmpfs.
            Assert.True(
                mount.Root == "/" || mount.Root == mount.MountPoint || mount.Root == "/newroot" || mount.Type == "devtmpfs",
                $"mount shows a host path: {mount.Line}");
            Assert.DoesNotContain("/tmp/", mount.Line, StringComparison.Ordinal);
            Assert.DoesNotContain("iris-", mount.Line, StringComparison.Ordinal);
            Assert.DoesNotContain("/dev/shm/", mount.Root, StringComparison.Ordinal);
        }

        // The synthetic /etc files are copies, not binds of the runtime folder.
        Assert.DoesNotContain(mounts, m => m.MountPoint.StartsWith("/etc/passwd", StringComparison.Ordinal) || m.MountPoint == "/etc/group" || m.MountPoint == "/etc/hosts");
        var pid1 = probe.GetProperty("pid1").GetString()!;
        Assert.DoesNotContain("/tmp/", pid1, StringComparison.Ordinal);
        Assert.DoesNotContain("iris-", pid1, StringComparison.Ordinal);
        Assert.DoesNotContain("bwrap", pid1, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_synthetic_etc_files_are_readable_and_read_only()
    {
        using var workspace = new TestWorkspace();

        var run = await SandboxRunner.RunAsync(fixture.Sandbox, workspace,
            ["sh", "-c", "cat /etc/passwd /etc/group /etc/hosts; echo x >> /etc/passwd || echo refused; ls /etc"], toolchain: []);

        Assert.Contains("iris:x:1000:1000:iris:/workspace:/bin/sh", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("iris:x:1000:", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("localhost iris", run.Stdout, StringComparison.Ordinal);
        Assert.Contains("refused", run.Stdout, StringComparison.Ordinal);
        Assert.EndsWith("group\nhosts\nld.so.cache\nlocaltime\npasswd\n", run.Stdout, StringComparison.Ordinal);
    }

    public static TheoryData<string> LanguageIds => [.. Catalog.All.Select(l => l.Id)];

    [Theory]
    [MemberData(nameof(LanguageIds))]
    public async Task Each_language_compiles_and_runs_with_nothing_but_its_toolchain_and_says_nothing_on_stderr(string id)
    {
        var language = Language(id);
        var status = await LanguageAvailability.ProbeAsync(language, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance)
            .WaitAsync(SandboxRunner.Timeout);
        Assert.True(status.IsAvailable, status.Reason);
        using var workspace = new TestWorkspace();
        workspace.Write(language.FileName, language.Hello);
        var stem = Path.GetFileNameWithoutExtension(language.FileName);
        string[] Expand(IReadOnlyList<string> template) => [.. template.Select(a => a == "{sources}" ? language.FileName
            : a.Replace("{file}", language.FileName, StringComparison.Ordinal).Replace("{stem}", stem, StringComparison.Ordinal))];
        var limits = SandboxRunner.DefaultLimits with { WallTime = TimeSpan.FromSeconds(45), CpuTime = TimeSpan.FromSeconds(30), MemoryBytes = 1024L * 1024 * 1024, MaxProcesses = 256 };

        if (language.Compile is { Count: > 0 } compileCommand)
        {
            var compile = await SandboxRunner.RunAsync(fixture.Sandbox, workspace, Expand(compileCommand), limits: limits,
                environment: language.Environment, toolchain: language.Toolchain);
            Assert.True(compile.Result.Verdict == Verdict.Ok, $"compile: {compile.Result.Message} {compile.Stdout} {compile.Stderr}");
            Assert.Equal("", compile.Stderr);
        }

        var run = await SandboxRunner.RunAsync(fixture.Sandbox, workspace, Expand(language.Run), limits: limits,
            environment: language.Environment, toolchain: language.Toolchain);
        Assert.True(run.Result.Verdict == Verdict.Ok, $"run: {run.Result.Message} {run.Stderr}");
        Assert.Equal("Hello, World!\n", run.Stdout);
        Assert.Equal("", run.Stderr);
    }
}

/// <summary>The same through the whole pipeline: real workspaces, the language's own toolchain.</summary>
[Trait("Needs", "Bubblewrap")]
public sealed class PipelineHostViewTests(Runs.PipelineFixture fixture) : IClassFixture<Runs.PipelineFixture>
{
    [Fact]
    public async Task A_python_run_finds_no_host_folder_in_its_mounts_or_pid_1_and_no_other_toolchain()
    {
        const string Program = """
            import os
            print(open('/proc/self/mountinfo').read())
            print('pid1', open('/proc/1/cmdline').read().replace('\0', ' '))
            for p in ['/usr/lib/jvm', '/usr/bin/gcc', '/usr/local/bin', '/usr/bin/dpkg', '/usr/sbin']:
                if os.path.lexists(p):
                    print('visible', p)
            """;

        var result = await fixture.RunAsync("python", Program);

        Assert.True(result.Outcome.Verdict == Verdict.Ok, result.ToString());
        Assert.DoesNotContain("visible", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/dev/shm/iris-runs", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("/tmp/iris-", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("iris-sandbox-", result.Stdout, StringComparison.Ordinal);
        Assert.Contains(" /usr/lib/python3.11 /usr/lib/python3.11 ", result.Stdout, StringComparison.Ordinal);
    }
}
