namespace IrisIde.Execution.Sessions;

/// <summary>
/// How many client signals a session passes on: <see cref="PerSecond"/> at once, then <see cref="PerSecond"/> a second
/// (a token bucket on <paramref name="time"/>). Far above Ctrl+C by hand; a signal has no answer to hold a flooding
/// client back, and each one costs the server a look for the program's process (and a transcript line, and a
/// message to a remote runner).
/// </summary>
public sealed class SignalAllowance(TimeProvider time)
{
    public const int PerSecond = 10;

    private readonly Lock _gate = new();
    private double _left = PerSecond;
    private long _at = time.GetTimestamp();

    /// <summary>Takes one signal's worth; false when the client is over the rate (the signal is then dropped).</summary>
    public bool TryTake()
    {
        lock (_gate)
        {
            var now = time.GetTimestamp();
            _left = Math.Min(PerSecond, _left + (time.GetElapsedTime(_at, now).TotalSeconds * PerSecond));
            _at = now;
            if (_left < 1)
            {
                return false;
            }

            _left--;
            return true;
        }
    }
}
