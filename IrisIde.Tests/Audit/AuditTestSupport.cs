using System.Globalization;
using IrisIde.Tests.Web;
using IrisIde.Web.Audit;
using IrisIde.Web.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IrisIde.Tests.Audit;

/// <summary>Reading what an app's audit log holds. Entries are written in the background, so a reader waits for them.</summary>
internal static class AuditTestSupport
{
    /// <summary>No sandboxed program runs in these tests; the uids are set so an app never takes another suite's.</summary>
    public static readonly IReadOnlyDictionary<string, string?> SandboxSettings = new Dictionary<string, string?>
    {
        ["Iris:Sandbox:Uid"] = "64300",
        ["Iris:Sandbox:UidCount"] = "16",
    };

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static Dictionary<string, string?> Settings(params (string Key, string? Value)[] more)
    {
        var all = new Dictionary<string, string?>(SandboxSettings);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }

    public static async Task<List<AuditEntry>> AllAsync(IServiceProvider services)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        return await db.AuditEntries.AsNoTracking().OrderBy(e => e.Id).ToListAsync().WaitAsync(Timeout);
    }

    /// <summary>Waits until at least <paramref name="count"/> entries match (the writer works in the background); fails after <see cref="Timeout"/>.</summary>
    public static async Task<List<AuditEntry>> WaitForAsync(IServiceProvider services, Func<AuditEntry, bool> match, int count = 1)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            var found = (await AllAsync(services)).Where(match).ToList();
            if (found.Count >= count)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                var all = string.Join("\n", (await AllAsync(services)).Select(Describe));
                Assert.Fail($"{found.Count} of {count} expected audit entries after {Timeout.TotalSeconds} s; the log holds:\n{all}");
            }

            await Task.Delay(100);
        }
    }

    public static Task<List<AuditEntry>> WaitForAsync(IrisWebApp app, Func<AuditEntry, bool> match, int count = 1) =>
        WaitForAsync(app.Services, match, count);

    /// <summary>Writes what is queued now and the refusal counts (what the writer does every few seconds).</summary>
    public static async Task DrainAsync(IServiceProvider services) =>
        await services.GetRequiredService<AuditWriter>().DrainAsync(CancellationToken.None).WaitAsync(Timeout);

    public static async Task AddAsync(IServiceProvider services, IEnumerable<AuditEntry> entries)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<IrisDbContext>();
        db.AuditEntries.AddRange(entries);
        await db.SaveChangesAsync().WaitAsync(Timeout);
    }

    public static string Describe(AuditEntry e) => string.Create(CultureInfo.InvariantCulture,
        $"{e.Id} {e.AtUtc:O} {e.Actor} ({e.ActorId}) {e.Action} {e.Target} {e.ClientIp} {e.Outcome} {e.Detail}");
}
