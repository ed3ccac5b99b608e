using System.Text;

namespace IrisIde.Execution.Sandboxing.Cgroups;

/// <summary>
/// Which cgroup version the host runs and where this process's own cgroup is, per controller on v1.
/// Runs are created below the process's own cgroup, so they stay inside whatever limits a container
/// or service manager put on the host process.
/// </summary>
/// <param name="Version">v2 when a unified hierarchy is mounted at the root; v1 otherwise.</param>
/// <param name="UnifiedDirectory">v2: this process's cgroup directory.</param>
/// <param name="ControllerDirectories">v1: controller name → this process's cgroup directory in that hierarchy.</param>
internal sealed record CgroupLayout(
    CgroupVersion Version,
    string? UnifiedDirectory,
    IReadOnlyDictionary<string, string> ControllerDirectories)
{
    public static readonly IReadOnlyList<string> RequiredV1Controllers = ["memory", "pids", "cpu", "cpuacct"];

    private static readonly System.Buffers.SearchValues<char> OctalDigits = System.Buffers.SearchValues.Create("01234567");

    private static readonly string[] KnownV1Controllers =
        ["memory", "pids", "cpu", "cpuacct", "freezer", "cpuset", "blkio", "devices", "net_cls", "net_prio", "perf_event", "hugetlb", "rdma", "misc"];

    /// <summary>Reads /proc/self/mountinfo and /proc/self/cgroup.</summary>
    public static CgroupLayout DetectCurrent(string cgroupRoot) =>
        Detect(cgroupRoot, File.ReadAllText("/proc/self/mountinfo"), File.ReadAllText("/proc/self/cgroup"), CgroupFileSystem.Instance);

    /// <summary>
    /// Detects the layout from the text of /proc/self/mountinfo and /proc/self/cgroup. A root with no
    /// cgroup mount below it (a fake root of plain files) is probed by its files instead, and treated
    /// as this process's own cgroup.
    /// </summary>
    public static CgroupLayout Detect(string cgroupRoot, string mountInfo, string selfCgroup, ICgroupFileSystem fileSystem)
    {
        var root = cgroupRoot.Length > 1 ? cgroupRoot.TrimEnd('/') : cgroupRoot;
        var mounts = ParseMountInfo(mountInfo);
        var selfPaths = ParseSelfCgroup(selfCgroup);

        var unified = mounts.FirstOrDefault(m => m.FileSystemType == "cgroup2" && m.MountPoint == root);
        if (unified is not null)
        {
            var own = selfPaths.TryGetValue("", out var path) ? path : "/";
            return new CgroupLayout(CgroupVersion.V2, Combine(unified.MountPoint, Relative(own, unified.Root)), new Dictionary<string, string>());
        }

        var controllers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var mount in mounts.Where(m => m.FileSystemType == "cgroup" && m.MountPoint.StartsWith(root + "/", StringComparison.Ordinal)))
        {
            foreach (var controller in mount.SuperOptions.Split(',').Where(o => KnownV1Controllers.Contains(o)))
            {
                var own = selfPaths.TryGetValue(controller, out var path) ? path : "/";
                controllers.TryAdd(controller, Combine(mount.MountPoint, Relative(own, mount.Root)));
            }
        }

        if (controllers.Count > 0)
        {
            return new CgroupLayout(CgroupVersion.V1, null, controllers);
        }

        return DetectFakeRoot(root, fileSystem);
    }

    private static CgroupLayout DetectFakeRoot(string root, ICgroupFileSystem fileSystem)
    {
        if (fileSystem.FileExists(Path.Combine(root, "cgroup.controllers")))
        {
            return new CgroupLayout(CgroupVersion.V2, root, new Dictionary<string, string>());
        }

        var controllers = new Dictionary<string, string>(StringComparer.Ordinal);
        if (fileSystem.DirectoryExists(root))
        {
            foreach (var directory in Directory.EnumerateDirectories(root))
            {
                foreach (var controller in Path.GetFileName(directory).Split(',').Where(c => KnownV1Controllers.Contains(c)))
                {
                    controllers.TryAdd(controller, directory);
                }
            }
        }

        if (controllers.Count == 0)
        {
            throw new NotSupportedException($"No cgroup v1 or v2 hierarchy found at {root}.");
        }

        return new CgroupLayout(CgroupVersion.V1, null, controllers);
    }

    internal sealed record MountInfoEntry(string Root, string MountPoint, string FileSystemType, string SuperOptions);

    internal static IReadOnlyList<MountInfoEntry> ParseMountInfo(string mountInfo)
    {
        var entries = new List<MountInfoEntry>();
        foreach (var line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // id parent major:minor root mount-point options [optional fields...] - fstype source super-options
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (fields.Length < 7 || separator < 6 || separator + 3 >= fields.Length)
            {
                continue;
            }

            entries.Add(new MountInfoEntry(Unescape(fields[3]), Unescape(fields[4]), fields[separator + 1], fields[separator + 3]));
        }

        return entries;
    }

    /// <summary>"hierarchy-id:controllers:path" lines → controller (or "" for v2) → path.</summary>
    internal static IReadOnlyDictionary<string, string> ParseSelfCgroup(string selfCgroup)
    {
        var paths = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in selfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (parts[1].Length == 0)
            {
                paths[""] = parts[2];
                continue;
            }

            foreach (var controller in parts[1].Split(','))
            {
                paths[controller] = parts[2];
            }
        }

        return paths;
    }

    private static string Relative(string path, string mountRoot)
    {
        if (mountRoot == "/")
        {
            return path;
        }

        // The mount shows a subtree (a container's view without a cgroup namespace): our path is
        // given from the hierarchy's real root, so strip the part the mount already represents.
        return path.StartsWith(mountRoot, StringComparison.Ordinal) ? path[mountRoot.Length..] : "/";
    }

    private static string Combine(string mountPoint, string relative)
    {
        var trimmed = relative.Trim('/');
        return trimmed.Length == 0 ? mountPoint : Path.Combine(mountPoint, trimmed);
    }

    // mountinfo escapes space, tab, newline and backslash as \ooo octal.
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var builder = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && i + 3 < field.Length
                && !field.AsSpan(i + 1, 3).ContainsAnyExcept(OctalDigits))
            {
                builder.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                builder.Append(field[i]);
            }
        }

        return builder.ToString();
    }
}
