using System.Buffers.Binary;
using System.Diagnostics;
using IrisIde.Execution.Sandboxing.Bubblewrap;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// iris-seccomp, the native program the server runs once at start to write the runs' seccomp filter (what the filter
/// denies is tested through real sandboxes in <see cref="BubblewrapSeccompTests"/>): what it writes, and that it
/// writes nowhere else.
/// </summary>
public sealed class SeccompCompilerTests : IDisposable
{
    private static readonly string Compiler = new BubblewrapOptions().SeccompCompilerPath;
    private readonly string _folder = Directory.CreateTempSubdirectory("iris-seccomp-").FullName;

    [Fact]
    public async Task It_writes_a_classic_bpf_program_that_first_checks_the_architecture()
    {
        var path = Path.Combine(_folder, "seccomp.bpf");

        var (exitCode, stderr) = await RunAsync(path);

        Assert.True(exitCode == 0, stderr);
        var program = await File.ReadAllBytesAsync(path);
        // struct sock_filter: u16 code, u8 jt, u8 jf, u32 k; at most BPF_MAXINSNS (4096) of them.
        Assert.True(program.Length > 0 && program.Length % 8 == 0 && program.Length / 8 <= 4096, $"{program.Length} bytes");
        // BPF_LD | BPF_W | BPF_ABS of seccomp_data.arch (offset 4): a filter that ignored the architecture could be
        // bypassed through another ABI's syscall numbers.
        Assert.Equal(0x20, BinaryPrimitives.ReadUInt16LittleEndian(program));
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(program.AsSpan(4)));
        // Every path through the program ends in a return: the last instruction is BPF_RET | BPF_K.
        Assert.Equal(0x06, BinaryPrimitives.ReadUInt16LittleEndian(program.AsSpan(program.Length - 8)));
    }

    [Fact]
    public async Task It_does_not_follow_a_symbolic_link_at_its_path()
    {
        var target = Path.Combine(_folder, "elsewhere");
        await File.WriteAllTextAsync(target, "untouched");
        var link = Path.Combine(_folder, "seccomp.bpf");
        File.CreateSymbolicLink(link, target);

        var (exitCode, stderr) = await RunAsync(link);

        Assert.Equal(1, exitCode);
        Assert.StartsWith("iris-seccomp: open " + link, stderr, StringComparison.Ordinal);
        Assert.Equal("untouched", await File.ReadAllTextAsync(target));
    }

    [Fact]
    public async Task Without_a_path_it_prints_its_usage_and_fails()
    {
        var (exitCode, stderr) = await RunAsync();

        Assert.Equal(1, exitCode);
        Assert.Equal("usage: iris-seccomp PATH\n", stderr);
    }

    private static async Task<(int ExitCode, string Stderr)> RunAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo(Compiler) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stderr = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        return (process.ExitCode, stderr);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
