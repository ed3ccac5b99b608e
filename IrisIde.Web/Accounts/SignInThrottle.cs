using System.Threading.RateLimiting;
using IrisIde.Execution.Admission;
using Microsoft.Extensions.Options;

namespace IrisIde.Web.Accounts;

/// <summary>
/// Failed sign-ins per client address, against password spraying: lockout stops many guesses at one
/// account, this stops a few guesses at each of many. Only failures count, so a class signing in together
/// behind one school address is not held up. The address is the admission key's (trusted proxies only).
/// </summary>
public sealed class SignInThrottle : IDisposable
{
    private readonly PartitionedRateLimiter<string> _failures;

    public SignInThrottle(IOptions<AccountsOptions> options)
    {
        var rules = options.Value;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetSlidingWindowLimiter(address, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = rules.MaxFailedSignInsPerAddress,
            Window = TimeSpan.FromMinutes(rules.LockoutMinutes),
            SegmentsPerWindow = 5,
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    public static string KeyOf(HttpContext context) => ClientKeys.ForAddress(context.Connection.RemoteIpAddress);

    /// <summary>Whether this address has used up its failed sign-ins for now.</summary>
    public bool IsBlocked(string address) => _failures.GetStatistics(address) is { CurrentAvailablePermits: <= 0 };

    public void RecordFailure(string address)
    {
        using var lease = _failures.AttemptAcquire(address);
    }

    public void Dispose() => _failures.Dispose();
}
