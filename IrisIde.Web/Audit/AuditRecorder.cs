using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Audit;

/*
 * Recording never waits for the database: an entry goes into a bounded queue that AuditWriter empties in
 * batches. A slow or failing database therefore cannot slow down or break a sign-in; when the queue is full
 * the entry is dropped, counted (Dropped) and a warning is logged (at most once a minute).
 *
 * Refused anonymous attempts are the one kind an outsider can make at any rate (a script trying access
 * tokens, a flood of forged single sign-on callbacks), so they go through RecordRefusal: per minute, the
 * first attempt of each (action, address) is kept as its own entry, up to RefusalEntriesPerMinute entries in
 * all; everything else in that minute is counted, and one entry per action then says how many more there
 * were and from which addresses (the five busiest). The rows such a flood adds are bounded by
 * RefusalEntriesPerMinute plus one per action per minute, however many attempts and addresses it uses.
 */

/// <summary>Takes audit entries from anywhere in the app and queues them for <see cref="AuditWriter"/>.</summary>
public sealed partial class AuditRecorder
{
    private static readonly TimeSpan RefusalWindow = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan DropWarningInterval = TimeSpan.FromMinutes(1);
    private const int MaxAddressesCounted = 1000;
    private const string OtherAddresses = "other addresses";

    private readonly Channel<AuditEntry> _queue;
    private readonly IOptions<AuditOptions> _options;
    private readonly IHttpContextAccessor _http;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditRecorder> _logger;
    private readonly Lock _refusalsLock = new();
    private readonly HashSet<(string Action, string Address)> _keptThisWindow = [];
    private readonly Dictionary<string, Dictionary<string, long>> _countedThisWindow = new(StringComparer.Ordinal);
    private DateTime _windowStart;
    private long _dropped;
    private long _lastDropWarningTicks = long.MinValue;

    public AuditRecorder(IOptions<AuditOptions> options, IHttpContextAccessor http, TimeProvider time, ILogger<AuditRecorder> logger)
    {
        _options = options;
        _http = http;
        _time = time;
        _logger = logger;
        _queue = Channel.CreateBounded<AuditEntry>(new BoundedChannelOptions(options.Value.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _windowStart = time.GetUtcNow().UtcDateTime;
    }

    /// <summary>Entries dropped because the queue was full or the database refused them, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    internal ChannelReader<AuditEntry> Reader => _queue.Reader;

    /// <summary>
    /// Queues an entry. The client address is the current request's, if there is one. Text is cut to the
    /// column sizes, control characters become spaces and anything shaped like an access token is blanked.
    /// </summary>
    public void Record(string action, AuditActor actor, string? target, AuditOutcome outcome = AuditOutcome.Success, string? detail = null) =>
        Enqueue(new AuditEntry
        {
            AtUtc = _time.GetUtcNow().UtcDateTime,
            ActorId = actor.UserId,
            Actor = Clean(actor.Name, AuditEntry.MaxActorLength)!,
            Action = action,
            Target = Clean(target, AuditEntry.MaxTargetLength),
            ClientIp = ClientAddress(),
            Outcome = outcome,
            Detail = Clean(detail, AuditEntry.MaxDetailLength),
        });

    /// <summary>An anonymous attempt that was refused and that an outsider can repeat at will: kept or counted (see the top of this file).</summary>
    public void RecordRefusal(string action, string? target, string reason)
    {
        var address = ClientAddress() ?? "unknown";
        bool keep;
        lock (_refusalsLock)
        {
            RollWindowIfDue(_time.GetUtcNow().UtcDateTime);
            keep = _keptThisWindow.Count < _options.Value.RefusalEntriesPerMinute && _keptThisWindow.Add((action, address));
            if (!keep)
            {
                if (!_countedThisWindow.TryGetValue(action, out var byAddress))
                {
                    _countedThisWindow[action] = byAddress = new(StringComparer.Ordinal);
                }

                // Beyond this many addresses in a minute, the rest are one bucket: the counting itself stays bounded.
                var bucket = byAddress.ContainsKey(address) || byAddress.Count < MaxAddressesCounted ? address : OtherAddresses;
                byAddress[bucket] = byAddress.GetValueOrDefault(bucket) + 1;
            }
        }

        if (keep)
        {
            Record(action, AuditActor.Anonymous, target, AuditOutcome.Failure, reason);
        }
    }

    /// <summary>Writes the counts of a refusal minute that has ended (the writer calls this now and then, so a flood's last minute is not held back).</summary>
    internal void FlushRefusals(bool force = false)
    {
        lock (_refusalsLock)
        {
            RollWindowIfDue(_time.GetUtcNow().UtcDateTime, force);
        }
    }

    internal void CountLost(int count) => Interlocked.Add(ref _dropped, count);

    private void RollWindowIfDue(DateTime now, bool force = false)
    {
        if (!force && now - _windowStart < RefusalWindow)
        {
            return;
        }

        foreach (var (action, byAddress) in _countedThisWindow)
        {
            var total = byAddress.Values.Sum();
            var busiest = byAddress.OrderByDescending(a => a.Value).ThenBy(a => a.Key, StringComparer.Ordinal).Take(5)
                .Select(a => string.Create(CultureInfo.InvariantCulture, $"{a.Key} x{a.Value}"));
            Enqueue(new AuditEntry
            {
                AtUtc = now,
                Actor = AuditActor.Anonymous.Name,
                Action = action,
                ClientIp = byAddress.Count == 1 ? Clean(byAddress.Keys.First(), 64) : null,
                Outcome = AuditOutcome.Aggregated,
                Detail = Clean(string.Create(CultureInfo.InvariantCulture,
                    $"{total} more refused between {_windowStart:yyyy-MM-dd HH:mm:ss} and {now:yyyy-MM-dd HH:mm:ss} UTC from {Addresses(byAddress)}: {string.Join(", ", busiest)}"),
                    AuditEntry.MaxDetailLength),
            });
        }

        _countedThisWindow.Clear();
        _keptThisWindow.Clear();
        _windowStart = now;
    }

    private static string Addresses(Dictionary<string, long> byAddress) =>
        byAddress.ContainsKey(OtherAddresses)
            ? string.Create(CultureInfo.InvariantCulture, $"more than {MaxAddressesCounted} addresses")
            : string.Create(CultureInfo.InvariantCulture, $"{byAddress.Count} address(es)");

    private void Enqueue(AuditEntry entry)
    {
        if (_queue.Writer.TryWrite(entry))
        {
            return;
        }

        var dropped = Interlocked.Increment(ref _dropped);
        var now = _time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastDropWarningTicks);
        if (last == long.MinValue || now - last >= DropWarningInterval.Ticks)
        {
            if (Interlocked.CompareExchange(ref _lastDropWarningTicks, now, last) == last)
            {
                AuditLog.EntriesDropped(_logger, dropped, _options.Value.QueueCapacity);
            }
        }
    }

    private string? ClientAddress()
    {
        if (_http.HttpContext?.Connection.RemoteIpAddress is not { } address)
        {
            return null;
        }

        return (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();
    }

    /// <summary>Bounded, printable, and never an access token (belt and braces: callers never pass one).</summary>
    internal static string? Clean(string? text, int maxLength)
    {
        if (text is null)
        {
            return null;
        }

        text = TokenShape().Replace(text, "iris_pat_[redacted]");
        var printable = new StringBuilder(Math.Min(text.Length, maxLength));
        foreach (var c in text)
        {
            if (printable.Length == maxLength)
            {
                break;
            }

            printable.Append(char.IsControl(c) ? ' ' : c);
        }

        return printable.ToString();
    }

    [GeneratedRegex("iris_pat_[A-Za-z0-9_-]*")]
    private static partial Regex TokenShape();
}
