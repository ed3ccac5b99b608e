using IrisIde.Execution.Sandboxing.Cgroups;

namespace IrisIde.Tests.Sandboxing.Cgroups;

/// <summary>Reading control files in one open: what is missing is null, what is there comes back whole.</summary>
public sealed class CgroupFileSystemTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("iris-cgroup-fs-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_missing_file_or_folder_reads_as_null()
    {
        Assert.Null(CgroupFileSystem.Instance.TryReadAllText(Path.Combine(_root, "memory.peak")));
        Assert.Null(CgroupFileSystem.Instance.TryReadAllText(Path.Combine(_root, "run-gone", "cpu.stat")));
    }

    [Fact]
    public void A_path_through_a_file_reads_as_null()
    {
        File.WriteAllText(Path.Combine(_root, "cgroup.procs"), "1\n");

        Assert.Null(CgroupFileSystem.Instance.TryReadAllText(Path.Combine(_root, "cgroup.procs", "cpu.stat")));
    }

    [Fact]
    public void A_file_longer_than_one_read_comes_back_whole()
    {
        var pids = string.Concat(Enumerable.Range(100_000, 2_000).Select(pid => $"{pid}\n"));
        File.WriteAllText(Path.Combine(_root, "cgroup.procs"), pids);

        Assert.Equal(pids, CgroupFileSystem.Instance.TryReadAllText(Path.Combine(_root, "cgroup.procs")));
    }

    [Fact]
    public void An_unreadable_path_is_an_error_not_a_missing_file()
    {
        Assert.Throws<IOException>(() => CgroupFileSystem.Instance.TryReadAllText(_root));
    }

    [Fact]
    public void Numbers_and_keyed_values_of_missing_or_odd_files_are_zero()
    {
        File.WriteAllText(Path.Combine(_root, "memory.current"), "4096\n");
        File.WriteAllText(Path.Combine(_root, "memory.max"), "max\n");
        File.WriteAllText(Path.Combine(_root, "cpu.stat"), "usage_usec 1234567\nuser_usec 1000000\n");

        Assert.Equal(4096, CgroupProcesses.ReadNumber(CgroupFileSystem.Instance, Path.Combine(_root, "memory.current")));
        Assert.Equal(0, CgroupProcesses.ReadNumber(CgroupFileSystem.Instance, Path.Combine(_root, "memory.max")));
        Assert.Equal(0, CgroupProcesses.ReadNumber(CgroupFileSystem.Instance, Path.Combine(_root, "memory.peak")));
        Assert.Equal(1234567, CgroupProcesses.ReadKeyedValue(CgroupFileSystem.Instance, Path.Combine(_root, "cpu.stat"), "usage_usec"));
        Assert.Equal(0, CgroupProcesses.ReadKeyedValue(CgroupFileSystem.Instance, Path.Combine(_root, "cpu.stat"), "system_usec"));
        Assert.Equal(0, CgroupProcesses.ReadKeyedValue(CgroupFileSystem.Instance, Path.Combine(_root, "memory.events"), "oom_kill"));
    }
}
