using System.Globalization;
using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

/// <summary>
/// A sandbox whose set-up fails inside the sandbox's first process (after bwrap, or the launcher building the sandbox
/// itself, has reported it), as in a container engine that forbids mounting proc: nothing of the user's ran, so the run
/// is the sandbox's failure (internal_error), never the program's runtime error with the set-up's message passed off as
/// the program's output.
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
            // The wrapper is bwrap's; the launcher would build the sandbox without it.
            LauncherBuildsSandbox = false,
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

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_workspace_the_runs_uid_cannot_reach_fails_the_set_up_not_the_program(bool launcherBuildsSandbox)
    {
        // Below a folder only root may enter: the sandbox's first process, as the run's uid, cannot bind the workspace.
        var closed = Directory.CreateDirectory(Path.Combine(_folder, "closed-" + launcherBuildsSandbox.ToString(CultureInfo.InvariantCulture))).FullName;
        File.SetUnixFileMode(closed, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        using var workspace = new TestWorkspace(closed);
        workspace.Write("main.py", "print('never')");
        var options = new BubblewrapOptions
        {
            Uid = _options.Uid,
            UidCount = _options.UidCount,
            WarmSandboxes = 0,
            CgroupParent = _options.CgroupParent,
            LauncherBuildsSandbox = launcherBuildsSandbox,
        };
        using var sandbox = new BubblewrapSandbox(Microsoft.Extensions.Options.Options.Create(options), SandboxRunner.HostCapacity, NullLogger<BubblewrapSandbox>.Instance);

        var run = await SandboxRunner.RunAsync(sandbox, workspace, ["python3", "main.py"]);

        Assert.Equal(Verdict.InternalError, run.Result.Verdict);
        Assert.Null(run.Result.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.Contains("could not start the program", run.Result.Message, StringComparison.Ordinal);
        Assert.Contains("Permission denied", run.Stderr, StringComparison.Ordinal);
        Assert.Empty(SandboxRunner.ProcessesOwnedBy(_options.Uid, _options.UidCount));
    }

    public void Dispose()
    {
        _sandbox.Dispose();
        BubblewrapSandboxFixture.DeleteParent(_options.CgroupParent);

        Directory.Delete(_folder, recursive: true);
    }
}
