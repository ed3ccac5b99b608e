namespace IrisIde.Tests.Protocol;

/// <summary>
/// Settings every protocol test app shares: the real bubblewrap sandbox, in its own cgroup folder. The
/// suite starts hundreds of runs from 127.0.0.1 within minutes, so the per-client start rate is lifted;
/// the admission tests set their own small caps and cross them.
/// </summary>
internal static class ProtocolTestSandbox
{
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Iris:Sandbox:CgroupParent"] = "iris-protocol-tests",
        ["Iris:Admission:RunsPerMinutePerClient"] = "100000",
    };
}
