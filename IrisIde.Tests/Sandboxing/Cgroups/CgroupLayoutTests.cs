using IrisIde.Execution.Sandboxing.Cgroups;

namespace IrisIde.Tests.Sandboxing.Cgroups;

public sealed class CgroupLayoutTests
{
    private const string HybridWithCoMountedCpu = """
        22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
        31 22 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate
        35 31 0:32 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpu,cpuacct
        36 31 0:33 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
        37 31 0:34 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
        38 31 0:35 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,freezer
        39 31 0:36 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:19 - cgroup cgroup rw,cpuset
        """;

    private const string SelfCgroupV1 = """
        12:freezer:/
        11:pids:/system.slice/iris.service
        10:memory:/system.slice/iris.service
        4:cpu,cpuacct:/system.slice/iris.service
        3:cpuset:/
        0::/system.slice/iris.service
        """;

    [Fact]
    public void Hybrid_host_with_co_mounted_cpu_and_cpuacct_is_detected_as_v1()
    {
        var layout = CgroupLayout.Detect("/sys/fs/cgroup", HybridWithCoMountedCpu, SelfCgroupV1, CgroupFileSystem.Instance);

        Assert.Equal(CgroupVersion.V1, layout.Version);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct/system.slice/iris.service", layout.ControllerDirectories["cpu"]);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct/system.slice/iris.service", layout.ControllerDirectories["cpuacct"]);
        Assert.Equal("/sys/fs/cgroup/memory/system.slice/iris.service", layout.ControllerDirectories["memory"]);
        Assert.Equal("/sys/fs/cgroup/pids/system.slice/iris.service", layout.ControllerDirectories["pids"]);
        Assert.Equal("/sys/fs/cgroup/freezer", layout.ControllerDirectories["freezer"]);
    }

    [Fact]
    public void Container_mount_of_a_subtree_maps_its_own_cgroup_to_the_mount_point()
    {
        const string MountInfo = "40 31 0:33 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
                                 "41 31 0:34 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";

        var layout = CgroupLayout.Detect("/sys/fs/cgroup", MountInfo, "5:memory:/docker/abc\n4:pids:/docker/abc\n", CgroupFileSystem.Instance);

        Assert.Equal("/sys/fs/cgroup/memory", layout.ControllerDirectories["memory"]);
        Assert.Equal("/sys/fs/cgroup/pids", layout.ControllerDirectories["pids"]);
    }

    [Fact]
    public void Unified_hierarchy_at_the_root_is_detected_as_v2()
    {
        const string MountInfo = "30 22 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

        var layout = CgroupLayout.Detect("/sys/fs/cgroup", MountInfo, "0::/user.slice/session-1.scope\n", CgroupFileSystem.Instance);

        Assert.Equal(CgroupVersion.V2, layout.Version);
        Assert.Equal("/sys/fs/cgroup/user.slice/session-1.scope", layout.UnifiedDirectory);
    }

    [Fact]
    public void Escaped_mount_points_are_decoded()
    {
        var entries = CgroupLayout.ParseMountInfo("40 31 0:33 / /mnt/with\\040space rw - cgroup2 cgroup2 rw\n");

        Assert.Equal("/mnt/with space", Assert.Single(entries).MountPoint);
    }

    [Fact]
    public void Fake_root_without_mounts_is_probed_by_its_files()
    {
        var root = Directory.CreateTempSubdirectory("iris-cgroup-fake-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(root, "cgroup.controllers"), "cpu memory pids\n");

            var layout = CgroupLayout.Detect(root, HybridWithCoMountedCpu, SelfCgroupV1, CgroupFileSystem.Instance);

            Assert.Equal(CgroupVersion.V2, layout.Version);
            Assert.Equal(root, layout.UnifiedDirectory);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
