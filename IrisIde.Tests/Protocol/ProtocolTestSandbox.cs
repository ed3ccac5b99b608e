namespace IrisIde.Tests.Protocol;

/// <summary>Settings every protocol test app shares: the real bubblewrap sandbox, in its own cgroup folder.</summary>
internal static class ProtocolTestSandbox
{
    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Iris:Sandbox:CgroupParent"] = "iris-protocol-tests",
    };
}
