namespace IrisIde.Execution.Runs;

public enum RunRequestError
{
    UnknownLanguage,
    LanguageUnavailable,
    NoSource,
    SourceTooLarge,
    TooManyFiles,
    InvalidFileName,
    DuplicateFileName,
    InvalidLimits,
    StdinTooLarge,
    InvalidCommand,
    CommandTooLarge,

    /// <summary>The run names a course it may not run in (not a member, archived, language not offered there).</summary>
    CourseRefused,
}

/// <summary>A request the pipeline refuses before anything runs. The message is safe to show to the client.</summary>
public sealed class RunValidationException(RunRequestError error, string message) : Exception(message)
{
    public RunRequestError Error { get; } = error;

    /// <summary>True when the request is too big (HTTP 413) rather than wrong (HTTP 400).</summary>
    public bool IsTooLarge => Error is RunRequestError.SourceTooLarge or RunRequestError.TooManyFiles or RunRequestError.StdinTooLarge or RunRequestError.CommandTooLarge;
}
