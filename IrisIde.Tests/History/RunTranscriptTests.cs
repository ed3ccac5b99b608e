using IrisIde.Web.History;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.History;

/// <summary>The transcript recorder and the history's settings, without an app.</summary>
public sealed class RunTranscriptTests
{
    [Fact]
    public void A_full_queue_refuses_the_chunk_at_once_and_marks_the_transcript_incomplete()
    {
        var queue = new RunHistoryQueue(Options.Create(new HistoryOptions { QueueCapacity = 2 }));
        var transcript = new RunTranscript(Guid.CreateVersion7(), queue, 1024);

        var first = transcript.Add(TranscriptStreams.Stdout, "a");
        var second = transcript.Add(TranscriptStreams.Stdout, "b");
        var refused = transcript.Add(TranscriptStreams.Stdout, "c");
        var refusedAgain = transcript.Add(TranscriptStreams.Stdout, "d");

        Assert.Equal((false, false, true, false), (first, second, refused, refusedAgain));
        Assert.True(transcript.Incomplete);
        Assert.Equal(2, queue.Reader.Count);
        Assert.Equal(2, queue.Overflowed);
    }

    [Fact]
    public void The_cap_cuts_inside_a_chunk_between_characters_and_only_the_exit_follows_the_marker()
    {
        var queue = new RunHistoryQueue(Options.Create(new HistoryOptions()));
        var transcript = new RunTranscript(Guid.CreateVersion7(), queue, 64);

        transcript.Add(TranscriptStreams.Stdout, new string('a', 60), TimeSpan.FromMilliseconds(5));
        transcript.Add(TranscriptStreams.Stdout, "bé€x", TimeSpan.FromMilliseconds(3));
        transcript.Add(TranscriptStreams.Stdin, "ignored\n", TimeSpan.FromMilliseconds(7));
        transcript.Add(TranscriptStreams.Event, "exit ok, code 0", TimeSpan.FromMilliseconds(8), final: true);

        var chunks = new List<RunTranscriptChunk>();
        while (queue.TryDequeue(out var write))
        {
            chunks.Add(((HistoryChunk)write).Chunk);
        }

        Assert.True(transcript.Truncated);
        Assert.Equal(["stdout bé", "event exit ok, code 0"], chunks.Where((_, i) => i is 1 or 3).Select(c => $"{c.Stream} {c.Data}"));
        Assert.StartsWith("transcript cut", chunks[2].Data, StringComparison.Ordinal);
        Assert.Equal([0, 1, 2, 3], chunks.Select(c => c.Sequence));
        // Time never goes back along the sequence, even when a later event carries an earlier clock.
        Assert.Equal([5L, 5, 5, 8], chunks.Select(c => c.TimeMs));
    }

    [Theory]
    [InlineData(nameof(HistoryOptions.MaxTranscriptBytes), 10, "Iris:History:MaxTranscriptBytes must be between 64 and 67108864 (is 10)")]
    [InlineData(nameof(HistoryOptions.RetentionDays), 0, "Iris:History:RetentionDays must be at least 1 (is 0)")]
    [InlineData(nameof(HistoryOptions.QueueCapacity), 0, "Iris:History:QueueCapacity must be between 1 and 1000000 (is 0)")]
    [InlineData(nameof(HistoryOptions.MaxWriteAttempts), 0, "Iris:History:MaxWriteAttempts must be between 1 and 100 (is 0)")]
    [InlineData(nameof(HistoryOptions.PurgeIntervalMinutes), 0, "Iris:History:PurgeIntervalMinutes must be at least 1 (is 0)")]
    public void Bad_settings_are_refused_with_their_name(string setting, int value, string message)
    {
        var options = new HistoryOptions();
        typeof(HistoryOptions).GetProperty(setting)!.SetValue(options, value);

        var result = new HistoryOptionsValidator().Validate(null, options);

        Assert.Equal([message], result.Failures);
    }
}
