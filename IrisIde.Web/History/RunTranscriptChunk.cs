namespace IrisIde.Web.History;

/// <summary>The streams of a transcript, as stored in <see cref="RunTranscriptChunk.Stream"/> and shown by the API.</summary>
public static class TranscriptStreams
{
    public const string Stdout = "stdout";

    public const string Stderr = "stderr";

    /// <summary>Input the program received (after newline normalisation).</summary>
    public const string Stdin = "stdin";

    /// <summary>Something that happened to the run: compiled, compile error, signal sent, stopped, exit, the cut.</summary>
    public const string Event = "event";
}

/// <summary>
/// One timed piece of an interactive run's transcript: output as the program wrote it, input as it received it,
/// or an event. <see cref="Sequence"/> is the order the session produced them in; <see cref="TimeMs"/> never
/// goes back along it, so replaying by sequence replays in time.
/// </summary>
public sealed class RunTranscriptChunk
{
    public Guid RunId { get; set; }

    public int Sequence { get; set; }

    /// <summary>Milliseconds since the run started.</summary>
    public long TimeMs { get; set; }

    /// <summary>One of <see cref="TranscriptStreams"/>.</summary>
    public required string Stream { get; set; }

    public required string Data { get; set; }
}
