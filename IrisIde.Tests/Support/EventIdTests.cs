using System.Reflection;
using Microsoft.Extensions.Logging;

namespace IrisIde.Tests.Support;

/// <summary>
/// Log event ids are what operators filter and alert on, so each means one thing across the product;
/// the ranges are in docs/DEVELOPING.md ("Log event ids").
/// </summary>
public sealed class EventIdTests
{
    private static readonly Assembly[] ProductAssemblies =
    [
        typeof(IrisIde.Execution.Runs.RunPipeline).Assembly,
        typeof(Program).Assembly,
        typeof(IrisIde.Worker.RunnerHost).Assembly,
    ];

    [Fact]
    public void No_two_log_messages_share_an_event_id()
    {
        var messages = LogMessages().ToList();

        Assert.True(messages.Count > 50, $"only {messages.Count} [LoggerMessage] methods found: the scan is broken");
        var collisions = messages.GroupBy(m => m.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}")
            .ToList();
        Assert.Empty(collisions);
    }

    [Fact]
    public void Every_event_id_lies_in_its_components_range()
    {
        var outside = LogMessages()
            .Where(m => !Ranges.Any(r => m.EventId >= r.From && m.EventId <= r.To && m.Method.StartsWith(r.Namespace, StringComparison.Ordinal)))
            .Select(m => $"{m.EventId} {m.Method}")
            .ToList();

        Assert.Empty(outside);
    }

    /// <summary>The table of docs/DEVELOPING.md, as data.</summary>
    private static readonly (int From, int To, string Namespace)[] Ranges =
    [
        (1000, 1099, "IrisIde.Execution.Sandboxing.Bubblewrap"),
        (1100, 1199, "IrisIde.Execution.Sandboxing.Cgroups"),
        (1200, 1299, "IrisIde.Execution.Sandboxing.Processes"),
        (1300, 1399, "IrisIde.Execution.Languages"),
        (2000, 2099, "IrisIde.Execution.Runs"),
        (2100, 2199, "IrisIde.Execution.Sessions"),
        (2200, 2299, "IrisIde.Execution.Admission"),
        (2300, 2399, "IrisIde.Execution.Workspaces"),
        (3000, 3099, "IrisIde.Execution.Protocol"),
        (3100, 3199, "IrisIde.Execution.Protocol"),
        (4000, 4099, "IrisIde.Execution.Batch"),
        (4100, 4199, "IrisIde.Web.Batch"),
        (4200, 4299, "IrisIde.Worker"),
        (4300, 4399, "IrisIde.Execution.Batch"),
        (5000, 5099, "IrisIde.Web.Hubs"),
        (5100, 5199, "IrisIde.Web.Health"),
        (6100, 6199, "IrisIde.Web.Accounts"),
        (6300, 6399, "IrisIde.Web.History"),
        (6700, 6799, "IrisIde.Web.Audit"),
        (6800, 6819, "IrisIde.Web.Metrics"),
        (6820, 6829, "IrisIde.Web.Dashboard"),
        (6830, 6839, "IrisIde.Web.Persistence"),
        (6000, 6999, "IrisIde.Web"),
        (7000, 7099, "IrisIde.Execution.Sessions.Docker"),
        (7100, 7199, "IrisIde.Execution.Sandboxing.Docker"),
        (7200, 7299, "IrisIde.Execution.Sessions.Kubernetes"),
    ];

    private static IEnumerable<(int EventId, string Method)> LogMessages() =>
        from assembly in ProductAssemblies
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (attribute.EventId, $"{type.FullName}.{method.Name}");
}
