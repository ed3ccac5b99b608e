using IrisIde.Execution.Sandboxing.Bubblewrap;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>One real bubblewrap sandbox (real cgroups) shared by the tests of a class.</summary>
public sealed class BubblewrapSandboxFixture : IDisposable
{
    public const int Uid = 61000;

    public BubblewrapSandboxFixture()
    {
        Options = new BubblewrapOptions { Uid = Uid, Gid = Uid, CgroupParent = "iris-tests" };
        Sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(Options), NullLogger<BubblewrapSandbox>.Instance);
    }

    public BubblewrapOptions Options { get; }

    public BubblewrapSandbox Sandbox { get; }

    public void Dispose() => Sandbox.Dispose();
}
