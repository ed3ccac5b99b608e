using IrisIde.Execution.Batch.Contracts;

namespace IrisIde.Execution.Batch;

/// <summary>
/// A <see cref="RunRequested"/> that cannot be a job at all: no job id, language or files (a message from a
/// publisher that does not follow the contract). Never retried: it fails the same way every time.
/// </summary>
public sealed class InvalidJobException(string message) : Exception(message)
{
    /// <summary>Throws when <paramref name="job"/> misses a field every job must have.</summary>
    public static void ThrowIfMalformed(RunRequested job)
    {
        // The message was deserialized from JSON, so "non-nullable" fields may still be missing.
        if (job.JobId == Guid.Empty)
        {
            throw new InvalidJobException("invalid job: 'jobId' is missing");
        }

        if (job.Language is null || job.Files is null)
        {
            throw new InvalidJobException("invalid job: 'language' and 'files' are required");
        }
    }

    /// <summary>Whether a fault's exception type names a poison job (its message is the reason to show), not a server failure.</summary>
    public static bool IsPoison(string? exceptionType) =>
        exceptionType == typeof(InvalidJobException).FullName || exceptionType == typeof(Runs.RunValidationException).FullName;
}
