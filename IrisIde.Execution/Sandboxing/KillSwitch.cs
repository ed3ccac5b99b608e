using System.Globalization;

namespace IrisIde.Execution.Sandboxing;

/// <summary>
/// Why a sandboxed tree is being ended, shared by every sandbox's process handle. The first reason
/// wins, and a program that already ended on its own keeps its own verdict: a late Stop after a
/// clean exit must not turn <c>ok</c> into <c>killed</c>.
/// </summary>
internal sealed class KillSwitch
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private (Verdict Verdict, string? Message)? _reason;
    private bool _exitedOnItsOwn;

    /// <summary>Completes when the first kill is requested; supervisors wait on it next to the exit.</summary>
    public Task Requested => _requested.Task;

    /// <summary>The kill that ended the run, if one did.</summary>
    public (Verdict Verdict, string? Message)? Reason
    {
        get
        {
            lock (_lock)
            {
                return _reason;
            }
        }
    }

    /// <summary>Records the reason; false when another reason was first or the program had already ended.</summary>
    public bool TryRequest(Verdict verdict, string? message)
    {
        lock (_lock)
        {
            if (_reason is not null || _exitedOnItsOwn)
            {
                return false;
            }

            _reason = (verdict, message);
        }

        _requested.TrySetResult();
        return true;
    }

    /// <summary>Called by the supervisor once it stops watching: no kill asked for by now means the program ended by itself.</summary>
    public void MarkSupervisionOver()
    {
        lock (_lock)
        {
            _exitedOnItsOwn = _reason is null;
        }
    }

    public static string WallTimeExceeded(TimeSpan limit) =>
        string.Create(CultureInfo.InvariantCulture, $"Wall time limit of {limit.TotalSeconds:0.###} s exceeded.");

    public static string MemoryExceeded(long limitBytes) =>
        string.Create(CultureInfo.InvariantCulture, $"Memory limit of {limitBytes / (1024.0 * 1024):0.#} MiB exceeded.");

    public static string CpuTimeExceeded(TimeSpan limit) =>
        string.Create(CultureInfo.InvariantCulture, $"CPU time limit of {limit.TotalSeconds:0.###} s exceeded.");
}
