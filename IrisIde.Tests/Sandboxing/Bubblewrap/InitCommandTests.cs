using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using IrisIde.Execution.Sandboxing.Bubblewrap;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// The command handed to the sandbox's init on its stdin: what the server encodes, and what the real
/// native init (run directly here, outside any sandbox) does with good and bad input.
/// </summary>
public sealed class InitCommandTests
{
    private static readonly string Launcher = new BubblewrapOptions().LauncherPath;

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunInitAsync(byte[] stdin)
    {
        var start = new ProcessStartInfo(Launcher)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("init");
        start.ArgumentList.Add("3"); // no status descriptor open here: init reports nowhere, which it tolerates
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.StandardInput.BaseStream.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // init refused the command before reading all of it.
        }

        await process.WaitForExitAsync().WaitAsync(SandboxRunner.Timeout);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(part => part)];

    [Fact]
    public void Encodes_the_folder_then_argv_as_nul_ended_utf8_after_a_little_endian_length()
    {
        var message = InitCommand.Encode("/workspace", ["python3", "é.py"]);

        var payload = Encoding.UTF8.GetBytes("/workspace\0python3\0é.py\0");
        Assert.Equal(payload.Length, BinaryPrimitives.ReadInt32LittleEndian(message));
        Assert.Equal(payload, message[4..]);
    }

    [Fact]
    public void A_nul_in_an_argument_or_a_command_over_64_KiB_is_refused_with_a_clear_error()
    {
        var nul = Assert.Throws<ArgumentException>(() => InitCommand.Encode("/workspace", ["echo", "a\0b"]));
        Assert.Contains("NUL", nul.Message, StringComparison.Ordinal);

        var huge = Assert.Throws<ArgumentException>(() => InitCommand.Encode("/workspace", ["echo", new string('x', InitCommand.MaxBytes)]));
        Assert.Contains("longer than", huge.Message, StringComparison.Ordinal);

        // Just under the limit is fine.
        Assert.Equal(4 + InitCommand.MaxBytes, InitCommand.Encode("/w", ["e", new string('x', InitCommand.MaxBytes - 6)]).Length);
    }

    [Fact]
    public async Task Init_runs_the_command_in_its_folder_and_leaves_the_rest_of_stdin_to_the_program()
    {
        var (exitCode, stdout, stderr) = await RunInitAsync(Concat(
            InitCommand.Encode("/usr", ["sh", "-c", "pwd; cat; exit 3"]),
            Encoding.UTF8.GetBytes("the program's own input\n")));

        Assert.True(exitCode == 3, stderr);
        Assert.Equal("/usr\nthe program's own input\n", stdout);
    }

    [Fact]
    public async Task Init_given_no_command_ends_quietly()
    {
        var (exitCode, stdout, stderr) = await RunInitAsync([]);

        Assert.Equal(0, exitCode);
        Assert.Equal("", stdout);
        Assert.Equal("", stderr);
    }

    [Theory]
    [InlineData(new byte[] { 0x00, 0x00, 0x10, 0x00 }, "command of 1048576 bytes")] // 1 MiB announced
    [InlineData(new byte[] { 0x02, 0x00, 0x00, 0x00 }, "command of 2 bytes")]
    [InlineData(new byte[] { 0x08, 0x00, 0x00, 0x00, (byte)'/', 0, (byte)'a' }, "command cut short")]
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x00, (byte)'/', 0, (byte)'a', (byte)'b' }, "command not NUL-ended")]
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x00, (byte)'/', 0, 0, 0 }, "no program")]
    [InlineData(new byte[] { 0x04, 0x00, 0x00, 0x00, 0, (byte)'a', 0, 0 }, "no program or no folder")]
    [InlineData(new byte[] { 0x02, 0x00 }, "")] // a header cut short is no command at all
    public async Task Init_refuses_a_malformed_command_clearly_and_runs_nothing(byte[] stdin, string error)
    {
        var (exitCode, stdout, stderr) = await RunInitAsync(stdin);

        Assert.Equal("", stdout);
        if (error.Length == 0)
        {
            Assert.Equal(0, exitCode);
            return;
        }

        Assert.Equal(125, exitCode);
        Assert.Contains("iris-launch: " + error, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_that_cannot_be_found_or_a_missing_folder_is_reported_like_a_shell_does()
    {
        var missing = await RunInitAsync(InitCommand.Encode("/", ["no-such-program-here"]));
        Assert.Equal(127, missing.ExitCode);
        Assert.Contains("no-such-program-here", missing.Stderr, StringComparison.Ordinal);

        var folder = await RunInitAsync(InitCommand.Encode("/no/such/folder", ["true"]));
        Assert.Equal(126, folder.ExitCode);
        Assert.Contains("/no/such/folder", folder.Stderr, StringComparison.Ordinal);
    }
}
