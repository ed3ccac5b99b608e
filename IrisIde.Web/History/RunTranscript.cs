using System.Diagnostics;
using System.Text;

namespace IrisIde.Web.History;

/// <summary>
/// One run's transcript as it is recorded: numbers the chunks, stamps them with milliseconds since the run
/// started (never going back, so sequence order is time order), counts their bytes against
/// <see cref="HistoryOptions.MaxTranscriptBytes"/> and hands them to the queue. At the cap the chunk that crosses
/// it is cut, a marker event says so, and only the final exit event is kept after it. A chunk the full queue
/// refuses marks the transcript incomplete. Each chunk also goes to the run's live watchers, if any
/// (<see cref="LiveRun"/>). Called from the session's event pump and from the surface's calls
/// (input closed, signals, stop) at once, hence the lock; it only ever does in-memory work.
/// </summary>
public sealed class RunTranscript(Guid runId, RunHistoryQueue queue, int maxBytes, LiveRun? live = null)
{
    private readonly Lock _gate = new();

    private readonly long _started = Stopwatch.GetTimestamp();

    private int _sequence;

    private long _bytes;

    private long _lastMs;

    private bool _overflowReported;

    public Guid RunId => runId;

    public bool Truncated { get; private set; }

    public bool Incomplete { get; private set; }

    /// <summary>Records <paramref name="data"/> on <paramref name="stream"/>; <paramref name="elapsed"/> is the session's own clock when it has one.</summary>
    /// <returns>True when the queue refused a chunk for the first time (the caller logs it once).</returns>
    public bool Add(string stream, string data, TimeSpan? elapsed = null, bool final = false)
    {
        lock (_gate)
        {
            var ms = Math.Max(_lastMs, (long)(elapsed ?? Stopwatch.GetElapsedTime(_started)).TotalMilliseconds);
            _lastMs = ms;

            // Watchers see the run whole, past the stored transcript's cap.
            live?.Publish(stream, data, ms);
            if (Truncated)
            {
                return final && Put(stream, data, ms);
            }

            var size = Encoding.UTF8.GetByteCount(data);
            if (_bytes + size <= maxBytes)
            {
                _bytes += size;
                return Put(stream, data, ms);
            }

            var head = Head(data, (int)(maxBytes - _bytes));
            _bytes = maxBytes;
            Truncated = true;
            var refused = head.Length > 0 && Put(stream, head, ms);
            return Put(TranscriptStreams.Event, $"transcript cut: it reached {maxBytes} bytes (Iris:History:MaxTranscriptBytes); later output and input are not recorded", ms) | refused;
        }
    }

    private bool Put(string stream, string data, long ms)
    {
        if (queue.TryEnqueue(new RunTranscriptChunk { RunId = runId, Sequence = _sequence++, TimeMs = ms, Stream = stream, Data = data }))
        {
            return false;
        }

        Incomplete = true;
        var first = !_overflowReported;
        _overflowReported = true;
        return first;
    }

    /// <summary>The longest start of <paramref name="data"/> of at most <paramref name="bytes"/> UTF-8 bytes, never splitting a character.</summary>
    internal static string Head(string data, int bytes)
    {
        var used = 0;
        var i = 0;
        while (i < data.Length)
        {
            var width = char.IsHighSurrogate(data[i]) && i + 1 < data.Length && char.IsLowSurrogate(data[i + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(data.AsSpan(i, width));
            if (used + size > bytes)
            {
                break;
            }

            used += size;
            i += width;
        }

        return data[..i];
    }
}
