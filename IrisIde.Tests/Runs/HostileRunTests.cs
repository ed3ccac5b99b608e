using System.Net;
using System.Net.Sockets;
using IrisIde.Execution.Runs;
using IrisIde.Execution.Sandboxing;

namespace IrisIde.Tests.Runs;

/// <summary>
/// Programs a hostile student would write, through the whole pipeline. After each: the run ended with a
/// clear verdict, a hello-world run right after works, and no process of the run is left on the host.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class HostileRunTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>, IAsyncLifetime
{
    private static readonly RunLimitOverrides Short = new() { WallSeconds = 4, CpuSeconds = 2 };

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>The after-check every hostile test shares.</summary>
    public async Task DisposeAsync()
    {
        var hello = await fixture.RunAsync("python", "print('Hello, World!')");
        Assert.True(hello.Outcome.Verdict == Verdict.Ok, $"hello after a hostile run: {hello}");
        Assert.Equal("Hello, World!\n", hello.Stdout);
        Support.HostProcesses.AssertNoneLeft(await fixture.RemainingProcessesAfterAsync(TimeSpan.FromSeconds(5), fixture.SandboxUidCount));
    }

    private async Task<RunResult> RunShortAsync(string language, string source, string? stdin = null)
    {
        var events = await fixture.Pipeline.RunToEndAsync(new RunRequest
        {
            Language = language,
            Files = [new SourceFile(string.Empty, source)],
            Stdin = stdin,
            Limits = Short,
        }, CancellationToken.None).WaitAsync(PipelineFixture.Timeout);
        return new RunResult(events);
    }

    public static TheoryData<string, string, string, Verdict[]> Bombs => new()
    {
        {
            "fork loop that keeps its parent alive", "c",
            "#include <unistd.h>\nint main(void){ for(;;) { fork(); } }\n",
            [Verdict.TimeLimit]
        },
        {
            "memory bomb", "c",
            "#include <stdlib.h>\n#include <string.h>\nint main(void){ for(;;){ char*p=malloc(1<<20); if(p) memset(p,1,1<<20);} }\n",
            [Verdict.MemoryLimit]
        },
        {
            "CPU burn in many threads", "c",
            "#include <pthread.h>\nstatic void* spin(void*a){ for(volatile long i=0;;i++); return a; }\nint main(void){ pthread_t t[16]; for(int i=0;i<16;i++) pthread_create(&t[i],0,spin,0); pthread_join(t[0],0); }\n",
            [Verdict.TimeLimit]
        },
        {
            "sleep forever", "python",
            "import time\ntime.sleep(10**6)\n",
            [Verdict.TimeLimit]
        },
        {
            "stdout flood", "python",
            "import sys\nwhile True: sys.stdout.write('x' * 65536)\n",
            [Verdict.OutputLimit]
        },
        {
            "stderr flood", "python",
            "import sys\nwhile True: sys.stderr.write('e' * 65536)\n",
            [Verdict.OutputLimit]
        },
        {
            "a 10 MB line without newline", "python",
            "import sys\nsys.stdout.write('y' * 10_000_000)\nsys.stdout.flush()\n",
            [Verdict.OutputLimit]
        },
        {
            "disk fill in the workspace", "python",
            "with open('fill.bin', 'wb') as f:\n    while True: f.write(b'\\0' * (1 << 20))\n",
            [Verdict.RuntimeError, Verdict.MemoryLimit]
        },
        {
            "disk fill with many files", "python",
            "i = 0\nwhile True:\n    with open(f'f{i}', 'wb') as f: f.write(b'\\0' * (8 << 20))\n    i += 1\n",
            [Verdict.RuntimeError, Verdict.MemoryLimit]
        },
        {
            "disk fill in /tmp", "python",
            "with open('/tmp/fill.bin', 'wb') as f:\n    while True: f.write(b'\\0' * (1 << 20))\n",
            [Verdict.RuntimeError, Verdict.MemoryLimit]
        },
        {
            "daemonised grandchild that outlives main", "python",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        while True:\n            time.sleep(0.1)\n    os._exit(0)\nprint('main exits')\n",
            [Verdict.Ok]
        },
        {
            "kill -1", "python",
            "import os, signal\nos.kill(-1, signal.SIGKILL)\n",
            [Verdict.RuntimeError, Verdict.Ok]
        },
        {
            "kill every pid it can guess", "python",
            "import os\nfor pid in range(1, 5000):\n    try: os.kill(pid, 9)\n    except Exception: pass\nprint('survived')\n",
            [Verdict.RuntimeError, Verdict.Ok]
        },
        {
            "compile bomb: #include </dev/zero>", "c",
            "#include </dev/zero>\nint main(void){return 0;}\n",
            [Verdict.CompileError]
        },
        {
            "compile bomb: #include </dev/random>", "c",
            "#include </dev/random>\nint main(void){return 0;}\n",
            [Verdict.CompileError]
        },
        {
            "compile bomb: template explosion", "cpp",
            "template<int N, int M> struct E { static const long v = E<N-1, M>::v + E<N-1, M+1>::v + E<N-1, M+2>::v; };\n" +
            "template<int M> struct E<0, M> { static const long v = M; };\nint main() { return (int)E<40, 0>::v; }\n",
            [Verdict.CompileError]
        },
    };

    [Theory]
    [MemberData(nameof(Bombs))]
    public async Task Hostile_program_ends_with_a_limit_verdict(string what, string language, string source, Verdict[] expected)
    {
        var result = await RunShortAsync(language, source);

        Assert.True(expected.Contains(result.Outcome.Verdict), $"{what}: {result}");
        if (result.Outcome.Verdict == Verdict.OutputLimit)
        {
            Assert.Contains(result.Notices, n => n.Contains("output limit", StringComparison.Ordinal));
            Assert.True(result.Stdout.Length + result.Stderr.Length <= 1024 * 1024, "no more than the cap reaches the client");
        }
    }

    [Fact]
    public async Task Files_do_not_persist_between_runs()
    {
        var first = await RunShortAsync("python", "open('secret.txt', 'w').write('s')\nopen('/tmp/secret.txt', 'w').write('s')\nprint('written')\n");
        Assert.Equal("written\n", first.Stdout);

        var second = await RunShortAsync("python", "import os\nprint(sorted(os.listdir('.')), sorted(os.listdir('/tmp')))\n");

        Assert.Equal("['main.py'] []\n", second.Stdout);
    }

    [Fact]
    public async Task Links_and_fifos_planted_for_the_host_are_removed_without_touching_their_targets()
    {
        var hostDir = Directory.CreateTempSubdirectory("iris-victim-");
        var hostFile = Path.Combine(hostDir.FullName, "keep.txt");
        await File.WriteAllTextAsync(hostFile, "keep");
        try
        {
            var result = await RunShortAsync("python",
                "import os\n" +
                $"os.symlink('{hostDir.FullName}', 'dirlink')\n" +
                $"os.symlink('{hostFile}', 'filelink')\n" +
                "os.symlink('/etc/passwd', 'passwd')\n" +
                "os.mkfifo('trap')\nos.mkdir('locked')\nos.chmod('locked', 0)\nprint('planted')\n");

            Assert.Equal("planted\n", result.Stdout);
            Assert.Equal("keep", await File.ReadAllTextAsync(hostFile));
            Assert.True(File.Exists("/etc/passwd"));
        }
        finally
        {
            hostDir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Network_is_unreachable_even_on_loopback()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;

        var result = await RunShortAsync("python",
            "import socket\n" +
            "for host, port in [('127.0.0.1', " + port + "), ('10.255.255.1', 80), ('8.8.8.8', 53)]:\n" +
            "    s = socket.socket(); s.settimeout(1)\n" +
            "    try:\n        s.connect((host, port)); print('connected', host)\n" +
            "    except OSError as e:\n        print('blocked', host)\n" +
            "try:\n    socket.getaddrinfo('debian.org', 80); print('resolved')\nexcept OSError:\n    print('no dns')\n");

        Assert.Equal("blocked 127.0.0.1\nblocked 10.255.255.1\nblocked 8.8.8.8\nno dns\n", result.Stdout);
        Assert.False(listener.Pending());
    }

    [Fact]
    public async Task Host_files_and_environment_are_not_visible()
    {
        Environment.SetEnvironmentVariable("IRIS_TEST_SECRET", "hunter2");
        var result = await RunShortAsync("python",
            "import os\n" +
            "for p in ['/etc/shadow', '/root', '/home', '/work', '/var/lib', '/etc/hostname']:\n" +
            "    print(p, os.path.exists(p))\n" +
            "print('env', sorted(os.environ))\n" +
            "print('secret', any('hunter2' in v for v in os.environ.values()))\n");

        Assert.Contains("/etc/shadow False", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("/root False", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("/work False", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("secret False", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("IRIS_TEST_SECRET", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Proc_shows_only_the_runs_own_processes()
    {
        var result = await RunShortAsync("python",
            "import os\npids = [p for p in os.listdir('/proc') if p.isdigit()]\n" +
            "cmds = [open(f'/proc/{p}/cmdline', 'rb').read() for p in pids]\n" +
            "print(len(pids), any(b'dotnet' in c or b'testhost' in c for c in cmds))\n");

        var parts = result.Stdout.Trim().Split(' ');
        Assert.True(int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) <= 4, result.Stdout);
        Assert.Equal("False", parts[1]);
    }

    [Fact]
    public async Task Invalid_utf8_output_becomes_replacement_characters()
    {
        var result = await RunShortAsync("python", "import sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')\n");

        Assert.Equal("ok \uFFFD\uFFFD end\n", result.Stdout);
        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
    }

    [Fact]
    public async Task A_stdin_flood_in_a_batch_run_ends_cleanly()
    {
        var result = await RunShortAsync("python", "import sys, time\nprint(len(sys.stdin.readline()))\n", stdin: new string('z', 8 * 1024 * 1024) + "\n");

        Assert.Equal(Verdict.Ok, result.Outcome.Verdict);
        Assert.Equal($"{(8 * 1024 * 1024) + 1}\n", result.Stdout);
    }
}
