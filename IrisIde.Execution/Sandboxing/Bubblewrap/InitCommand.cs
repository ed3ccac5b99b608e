using System.Buffers.Binary;
using System.Text;

namespace IrisIde.Execution.Sandboxing.Bubblewrap;

/// <summary>
/// How the sandbox's init learns what to run: the first bytes on its stdin, ahead of the program's
/// own input — a 4-byte little-endian length, then the working folder and argv as NUL-ended UTF-8
/// strings. A sandbox can so be set up before anyone knows its command (<see cref="WarmSandboxPool"/>).
/// Init reads exactly these bytes; the rest of stdin is the program's.
/// </summary>
internal static class InitCommand
{
    /// <summary>The most init accepts (iris-launch.c's MAX_COMMAND_BYTES); far above any catalogue command.</summary>
    public const int MaxBytes = 64 * 1024;

    public static byte[] Encode(string directory, IReadOnlyList<string> command)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var length = Encoding.UTF8.GetByteCount(directory) + 1;
        foreach (var argument in command)
        {
            if (argument.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("A command argument contains a NUL character.", nameof(command));
            }

            length += Encoding.UTF8.GetByteCount(argument) + 1;
        }

        if (length > MaxBytes)
        {
            throw new ArgumentException($"The command is longer than {MaxBytes} bytes.", nameof(command));
        }

        var message = new byte[4 + length];
        BinaryPrimitives.WriteInt32LittleEndian(message, length);
        var offset = 4;
        foreach (var text in command.Prepend(directory))
        {
            offset += Encoding.UTF8.GetBytes(text, message.AsSpan(offset));
            message[offset++] = 0;
        }

        return message;
    }
}
