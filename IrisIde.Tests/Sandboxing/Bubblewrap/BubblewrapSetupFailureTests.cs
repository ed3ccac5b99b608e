using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Cgroups;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// A sandbox whose set-up fails inside bwrap's child (after bwrap has reported it), as in a container engine that
/// forbids mounting proc: nothing of the user's ran, so the run is the sandbox's failure (internal_error), never the
/// program's runtime error with bwrap's message passed off as the program's output.
/// </summary>
[Trait("Needs", "Bubblewrap")]
public sealed class BubblewrapSetupFailureTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("iris-bwrap-wrapper-").FullName;
    private readonly BubblewrapOptions _options;
    private readonly BubblewrapSandbox _sandbox;

    public BubblewrapSetupFailureTests()
    {
        // The real bwrap, with a first mount whose source is missing: the child fails there, after "child-pid".
        var wrapper = Path.Combine(_folder, "bwrap");
        File.WriteAllText(wrapper, "#!/bin/sh\nexec /usr/bin/bwrap --ro-bind /iris-no-such-folder /iris-no-such-folder \"$@\"\n");
        File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(_folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        _options = new BubblewrapOptions
        {
            BwrapPath = wrapper,
            Uid = 63100,
            UidCount = 4,
            WarmSandboxes = 0,
            CgroupParent = "iris-tests-" + Guid.NewGuid().ToString("N")[..8],
        };
        _sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(_options), SandboxRunner.HostCapacity, NullLogger<BubblewrapSandbox>.Instance);
    }

    [Fact]
    public async Task A_set_up_that_fails_after_bwrap_reported_its_child_is_an_internal_error()
    {
        using var workspace = new TestWorkspace();

        var run = await SandboxRunner.RunAsync(_sandbox, workspace, ["python3", "-c", "print('never')"]);

        Assert.Equal(Verdict.InternalError, run.Result.Verdict);
        Assert.Null(run.Result.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("could not start the program", run.Result.Message, StringComparison.Ordinal);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(_options.Uid, _options.UidCount));
    }

    public void Dispose()
    {
        _sandbox.Dispose();
        var layout = CgroupLayout.DetectCurrent("/sys/fs/cgroup");
        var parents = layout.Version == CgroupVersion.V2
            ? [Path.Combine(layout.UnifiedDirectory!, _options.CgroupParent)]
            : layout.ControllerDirectories.Values.Distinct().Select(d => Path.Combine(d, _options.CgroupParent));
        foreach (var path in parents.Where(Directory.Exists))
        {
            Directory.Delete(path);
        }

        Directory.Delete(_folder, recursive: true);
    }
}
