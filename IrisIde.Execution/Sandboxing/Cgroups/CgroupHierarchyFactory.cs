using Microsoft.Extensions.Logging;

namespace IrisIde.Execution.Sandboxing.Cgroups;

internal static class CgroupHierarchyFactory
{
    /// <summary>Detects the host's cgroup version below <paramref name="cgroupRoot"/> and returns where runs go.</summary>
    public static ICgroupHierarchy Create(string cgroupRoot, string parentName, ILogger logger) =>
        Create(CgroupLayout.DetectCurrent(cgroupRoot), parentName, CgroupFileSystem.Instance, logger);

    /// <remarks>Runs a previous process left frozen (it died in the middle of a teardown) are released first.</remarks>
    public static ICgroupHierarchy Create(CgroupLayout layout, string parentName, ICgroupFileSystem fileSystem, ILogger logger)
    {
        ICgroupHierarchy hierarchy;
        if (layout.Version == CgroupVersion.V2)
        {
            hierarchy = new CgroupV2Hierarchy(layout.UnifiedDirectory!, parentName, fileSystem, logger);
        }
        else
        {
            hierarchy = new CgroupV1Hierarchy(layout.ControllerDirectories, parentName, fileSystem, logger);
            CgroupLog.HierarchyReady(logger, CgroupVersion.V1, hierarchy.ParentPath);
        }

        hierarchy.ReleaseFrozenRuns();
        return hierarchy;
    }
}
