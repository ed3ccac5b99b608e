using System.Diagnostics.CodeAnalysis;
using System.Threading.Channels;
using IrisIde.Execution.Runs;

namespace IrisIde.Execution.Sessions;

/// <summary>
/// A session's event reader that calls <c>observe</c> for each event as it is taken: how the metrics and the run
/// history see a session without a pump task or a second channel, so they add no hop between program and surface.
/// With a <c>gate</c>, taking an event and observing it happen under that lock, so readers racing on one session
/// (a surface and a disposal's drain) observe the events in the order they were taken.
/// </summary>
public sealed class ObservingEventReader(ChannelReader<RunEvent> inner, Action<RunEvent> observe, Lock? gate = null) : ChannelReader<RunEvent>
{
    public override Task Completion => inner.Completion;

    public override bool CanCount => inner.CanCount;

    public override int Count => inner.Count;

    public override bool CanPeek => inner.CanPeek;

    public override bool TryPeek([MaybeNullWhen(false)] out RunEvent item) => inner.TryPeek(out item);

    public override bool TryRead([MaybeNullWhen(false)] out RunEvent item)
    {
        if (gate is null)
        {
            return TakeAndObserve(out item);
        }

        lock (gate)
        {
            return TakeAndObserve(out item);
        }
    }

    public override ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) => inner.WaitToReadAsync(cancellationToken);

    private bool TakeAndObserve([MaybeNullWhen(false)] out RunEvent item)
    {
        if (!inner.TryRead(out item))
        {
            return false;
        }

        observe(item);
        return true;
    }
}
