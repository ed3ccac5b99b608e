using IrisIde.Execution.Sandboxing;
using IrisIde.Execution.Sandboxing.Bubblewrap;
using IrisIde.Execution.Sandboxing.Launcher;
using Microsoft.Extensions.Logging.Abstractions;

namespace IrisIde.Tests.Sandboxing.Bubblewrap;

public sealed class BubblewrapMountsTests
{
    private const string RuntimeDirectory = "/run/iris-runtime-under-test";

    private static (List<string> Arguments, LauncherFiles Files) Build(IReadOnlyList<string>? toolchain)
    {
        var mounts = new BubblewrapMounts(new BubblewrapOptions(), () => RuntimeDirectory, canPrepareRoots: false, NullLogger.Instance);
        var files = new LauncherFiles();
        var spec = new SandboxSpec(["true"], "/srv/workspace", SandboxRunner.DefaultLimits, ToolchainPaths: toolchain);
        return ([.. mounts.Arguments(spec, "/srv/workspace", files)], files);
    }

    [Fact]
    public void The_synthetic_etc_files_are_read_by_descriptor_so_the_runtime_folder_is_never_a_bind_source()
    {
        var (arguments, files) = Build([]);

        Assert.DoesNotContain(arguments, a => a.Contains(RuntimeDirectory, StringComparison.Ordinal));
        // The first is the launcher, copied in as the sandbox's init.
        Assert.Equal(new BubblewrapOptions().LauncherPath, files.Paths[0]);
        Assert.Equal(["passwd", "group", "hosts"], files.Paths.Skip(1).Select(p => Path.GetRelativePath(RuntimeDirectory, p)));
        for (var i = 0; i < files.Paths.Count; i++)
        {
            var at = arguments.IndexOf((LauncherFiles.FirstDescriptor + i).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("--file", arguments[at - 1]);
            Assert.Equal(i == 0 ? BubblewrapSandbox.InitPath : "/etc/" + Path.GetFileName(files.Paths[i]), arguments[at + 1]);
        }
    }

    [Fact]
    public void Neither_usr_nor_usr_bin_nor_etc_alternatives_is_bound_whole()
    {
        var (arguments, _) = Build(null);

        var sources = arguments.Select((a, i) => (a, i)).Where(x => x.a is "--ro-bind" or "--ro-bind-try" or "--bind").Select(x => arguments[x.i + 1]).ToList();
        Assert.DoesNotContain("/usr", sources);
        Assert.DoesNotContain("/usr/bin", sources);
        Assert.DoesNotContain("/usr/local", sources);
        Assert.DoesNotContain("/etc", sources);
        Assert.DoesNotContain("/etc/alternatives", sources);
        Assert.Contains("/usr/lib/x86_64-linux-gnu", sources);
    }

    [Fact]
    public void The_proc_masks_come_after_proc_is_mounted_and_before_the_root_turns_read_only()
    {
        var (arguments, _) = Build([]);

        var proc = arguments.IndexOf("--proc");
        var cmdline = arguments.IndexOf("/proc/cmdline");
        Assert.InRange(cmdline, proc + 1, arguments.LastIndexOf("--remount-ro"));
        Assert.Equal("/dev/null", arguments[cmdline - 1]);
    }
}
